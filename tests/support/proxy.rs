//! Tiny proxies on 127.0.0.1 that send every request they are asked for to one upstream
//! server on 127.0.0.1, whatever host it names, and note what they were asked for.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

use super::{Request, Response, Server};

/// An HTTP proxy: it is asked `GET http://host:port/path`, which it forwards to `upstream` as
/// `GET /path`. Its own request count and paths (the absolute URLs) say what it was asked for.
pub fn http(upstream: SocketAddr) -> Server {
    Server::start(move |req: &Request, _| forward(upstream, req))
}

fn forward(upstream: SocketAddr, req: &Request) -> Response {
    let Ok(url) = url::Url::parse(&req.path) else {
        return Response::status(400);
    };
    let mut head = format!(
        "{} {} HTTP/1.1\r\n",
        req.method,
        &url[url::Position::BeforePath..]
    );
    for (name, value) in &req.headers {
        if !name.eq_ignore_ascii_case("proxy-connection") {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    head.push_str("\r\n");
    let mut conn = TcpStream::connect(upstream).unwrap();
    conn.write_all(head.as_bytes()).unwrap();
    // The test server ends the connection once the client has: all it sends is this response.
    conn.shutdown(Shutdown::Write).unwrap();
    let mut answer = Vec::new();
    conn.read_to_end(&mut answer).unwrap();
    Response::raw(move |client| {
        let _ = client.write_all(&answer);
    })
}

/// A SOCKS5 proxy (no authentication, CONNECT only) that connects every request to
/// `upstream`, and notes the host each one named.
pub struct Socks {
    pub addr: SocketAddr,
    asked: Arc<Mutex<Vec<String>>>,
}

impl Socks {
    pub fn start(upstream: SocketAddr) -> Socks {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let asked: Arc<Mutex<Vec<String>>> = Arc::default();
        let noted = asked.clone();
        thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let noted = noted.clone();
                thread::spawn(move || {
                    let _ = socks_connection(conn, upstream, &noted);
                });
            }
        });
        Socks { addr, asked }
    }

    /// The hosts asked for, as the requests named them (a name for socks5h).
    pub fn asked(&self) -> Vec<String> {
        self.asked.lock().unwrap().clone()
    }
}

fn socks_connection(
    mut client: TcpStream,
    upstream: SocketAddr,
    asked: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    let mut byte = [0u8; 1];
    let mut two = [0u8; 2];
    client.read_exact(&mut two)?;
    let mut methods = vec![0u8; two[1] as usize];
    client.read_exact(&mut methods)?;
    client.write_all(&[5, 0])?;
    let mut request = [0u8; 4];
    client.read_exact(&mut request)?;
    let host = match request[3] {
        3 => {
            client.read_exact(&mut byte)?;
            let mut name = vec![0u8; byte[0] as usize];
            client.read_exact(&mut name)?;
            String::from_utf8_lossy(&name).into_owned()
        }
        1 => {
            let mut ip = [0u8; 4];
            client.read_exact(&mut ip)?;
            std::net::Ipv4Addr::from(ip).to_string()
        }
        _ => {
            let mut ip = [0u8; 16];
            client.read_exact(&mut ip)?;
            std::net::Ipv6Addr::from(ip).to_string()
        }
    };
    client.read_exact(&mut two)?;
    asked.lock().unwrap().push(host);
    let server = TcpStream::connect(upstream)?;
    client.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 0])?;
    let (mut from_client, mut to_server) = (client.try_clone()?, server.try_clone()?);
    let up = thread::spawn(move || {
        let _ = std::io::copy(&mut from_client, &mut to_server);
        let _ = to_server.shutdown(Shutdown::Write);
    });
    let (mut from_server, mut to_client) = (server, client);
    let _ = std::io::copy(&mut from_server, &mut to_client);
    let _ = to_client.shutdown(Shutdown::Write);
    let _ = up.join();
    Ok(())
}

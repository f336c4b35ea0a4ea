//! A server on 127.0.0.1 that runs in the background on a thread of its own, for the embedded
//! blog and the replay alike: bound before it returns, stopped and joined when dropped.

use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::thread::{self, JoinHandle};

use anyhow::Context as _;
use tokio::net::{TcpListener, TcpSocket};
use tokio::runtime::Runtime;

/// A server serving in the background until shut down or dropped.
pub struct Running {
    addr: SocketAddr,
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Running {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        // Hanging up the channel wakes the server's thread, which drops the runtime and every
        // connection with it.
        self.stop.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Binds 127.0.0.1:port (0: any free port) before returning, then runs `serve` on the listener
/// from a thread named `name` that owns a small runtime, so the caller needs none.
pub fn start<F, S>(name: &str, port: u16, serve: S) -> anyhow::Result<Running>
where
    S: FnOnce(TcpListener) -> F + Send + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    let socket = TcpSocket::new_v4()?;
    // Lets a server restart on the same port while old connections linger in TIME_WAIT.
    socket.set_reuseaddr(true)?;
    socket
        .bind((Ipv4Addr::LOCALHOST, port).into())
        .with_context(|| format!("cannot listen on 127.0.0.1:{port}"))?;
    let addr = socket.local_addr()?;
    let (ready_tx, ready_rx) = mpsc::sync_channel(1);
    let (stop_tx, stop_rx) = mpsc::channel();
    let workers = format!("{name}-worker");
    let thread = thread::Builder::new()
        .name(name.into())
        .spawn(move || run(socket, &workers, serve, ready_tx, stop_rx))
        .with_context(|| format!("cannot start the {name} thread"))?;
    ready_rx
        .recv()
        .with_context(|| format!("the {name} thread died while starting"))?
        .with_context(|| format!("cannot start the {name} runtime"))?;
    Ok(Running {
        addr,
        stop: Some(stop_tx),
        thread: Some(thread),
    })
}

/// Body of the server's thread: the runtime is created and dropped here, never on a caller's
/// thread, which might be inside another runtime where either would panic.
fn run<F, S>(
    socket: TcpSocket,
    workers: &str,
    serve: S,
    ready: SyncSender<io::Result<()>>,
    stop: Receiver<()>,
) where
    S: FnOnce(TcpListener) -> F,
    F: Future<Output = ()> + Send + 'static,
{
    let runtime = match launch(socket, workers, serve) {
        Ok(runtime) => runtime,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let _ = ready.send(Ok(()));
    let _ = stop.recv();
    drop(runtime);
}

fn launch<F, S>(socket: TcpSocket, workers: &str, serve: S) -> io::Result<Runtime>
where
    S: FnOnce(TcpListener) -> F,
    F: Future<Output = ()> + Send + 'static,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(workers)
        .enable_all()
        .build()?;
    let listener = {
        let _context = runtime.enter();
        // Room for a crawler opening hundreds of connections at once; the default 128 would
        // drop some SYNs.
        socket.listen(1024)?
    };
    runtime.spawn(serve(listener));
    Ok(runtime)
}

//! -b and --cookie-jar, checked and read before anything is fetched: a cookie file that is not
//! one costs a usage error, not a crawl without its login.

use std::sync::Arc;

use crate::cli::auth::{AuthArgs, CookieArg};
use crate::exit::UsageError;
use crate::fetch::cookies::Cookies;

/// The crawl's cookie store, or None when no cookie flag asks for one: then no cookie is kept
/// or sent, as before these flags.
pub(super) fn cookies(args: &AuthArgs) -> Result<Option<Arc<Cookies>>, UsageError> {
    if args.cookies.is_empty() && args.cookie_jar.is_none() {
        return Ok(None);
    }
    let given = args
        .cookies
        .iter()
        .filter_map(|arg| match arg {
            CookieArg::Pairs(pairs) => Some(pairs.iter().cloned()),
            CookieArg::File(_) => None,
        })
        .flatten()
        .collect();
    let cookies = Cookies::new(given);
    for arg in &args.cookies {
        let CookieArg::File(path) = arg else { continue };
        let shown = path.display();
        let text = std::fs::read(path)
            .map_err(|e| UsageError(format!("cannot read cookie file '{shown}': {e}")))?;
        cookies
            .read(&String::from_utf8_lossy(&text))
            .map_err(|bad| {
                let (line, why) = (bad.0, bad.1);
                UsageError(format!("cookie file '{shown}', line {line}: {why}"))
            })?;
    }
    Ok(Some(Arc::new(cookies)))
}

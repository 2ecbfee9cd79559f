//! Fetches the service makes on its callers' behalf (uploads by URL): bounded in size and
//! time, never redirected, and never to the service's own network unless it allows that.

/// The body at `url`, refused once it passes `limit` bytes. The service fetches on its
/// callers' behalf, so hosts of its own network (loopback, private, link-local) are refused
/// unless the service allows them, the address checked is the one connected to, and
/// redirects are not followed.
pub async fn fetch(url: &str, limit: u64, private_hosts: bool) -> Result<Vec<u8>, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    let host = parsed.host_str().ok_or("the URL names no host")?.to_owned();
    let port = parsed.port_or_known_default().ok_or("the URL names no port")?;
    let bare_host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
    let addresses: Vec<std::net::SocketAddr> = tokio::net::lookup_host((bare_host.as_str(), port))
        .await
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .collect();
    let Some(address) = addresses.iter().find(|a| private_hosts || is_public(a.ip())).copied() else {
        return Err(format!("{host} is a host of the service's own network, which it does not fetch from"));
    };
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .resolve(&bare_host, address)
        .build()
        .map_err(|e| e.to_string())?;
    let mut response = client.get(url).send().await.map_err(|e| e.to_string())?;
    if response.status().is_redirection() {
        return Err(format!("HTTP {}: give the URL it redirects to", response.status()));
    }
    if !response.status().is_success() {
        return Err(format!("HTTP {}", response.status()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        body.extend_from_slice(&chunk);
        if body.len() as u64 > limit {
            return Err(format!("larger than the {} MiB this service takes", limit >> 20));
        }
    }
    Ok(body)
}

/// Whether an address is on the public internet (not loopback, private, link-local,
/// unspecified, multicast, or an IPv6 unique-local or mapped one of those).
fn is_public(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => {
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
        }
        std::net::IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(std::net::IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

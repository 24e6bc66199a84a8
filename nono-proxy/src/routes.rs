//! Credential routes: `http://127.0.0.1:PORT/<name>/rest` is forwarded to
//! `<upstream>/rest` when the request carries the route's phantom token;
//! the phantom is removed and the real credential injected. A phantom is
//! valid only for its own route.

use std::sync::Arc;

use base64::Engine;
use hyper::header::{HeaderName, HeaderValue};
use hyper::http::request::Parts;
use ipc::proxy::{EndpointRule, InjectMode, Route};
use zeroize::Zeroizing;

use crate::error::{ProxyError, Result};
use crate::scrub::Secrets;
use crate::{glob, hosts, token};

/// Headers clients commonly carry API keys in, checked after the route's own.
const KEY_HEADERS: &[&str] = &["authorization", "x-api-key", "x-goog-api-key", "api-key"];

#[derive(Debug)]
pub struct RouteState {
    pub name: String,
    pub https: bool,
    pub host: String,
    pub port: u16,
    /// Upstream base path without a trailing slash.
    pub base: String,
    inject: InjectMode,
    phantom: Vec<u8>,
    endpoints: Vec<EndpointRule>,
    secret: Zeroizing<Vec<u8>>,
    /// The secret in every form it may travel in, for scrubbing.
    pub secrets: Secrets,
}

fn parse_upstream(u: &str) -> Result<(bool, String, u16, String)> {
    let (https, rest) = if let Some(r) = u.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = u.strip_prefix("http://") {
        (false, r)
    } else {
        return Err(ProxyError::UpstreamScheme(u.to_string()));
    };
    let (authority, base) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
        None => (rest, ""),
    };
    let (host, port) = hosts::split_host_port(authority).map_err(ProxyError::UpstreamHost)?;
    Ok((
        https,
        hosts::normalize(&host),
        port.unwrap_or(if https { 443 } else { 80 }),
        base.to_string(),
    ))
}

fn pct(s: &[u8]) -> String {
    s.iter()
        .map(|&b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The secret as it appears inside any base64 text (standard and URL-safe
/// alphabets): for each of the three byte alignments, the characters that
/// depend on the secret's bytes alone. This covers base64 of `Bearer
/// <key>`, of `<user>:<key>` (basic auth) and of any text carrying the
/// key, whatever precedes it.
fn base64_forms(secret: &[u8]) -> Vec<Zeroizing<Vec<u8>>> {
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let mut out: Vec<Zeroizing<Vec<u8>>> = Vec::new();
    for k in 0..3usize {
        let mut buf = Zeroizing::new(vec![0u8; k]);
        buf.extend_from_slice(secret);
        // Characters wholly inside bits [8k, 8(k+n)).
        let (start, end) = ((8 * k).div_ceil(6), (8 * buf.len()) / 6);
        for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
            let enc = Zeroizing::new(engine.encode(&buf[..]).into_bytes());
            if start < end
                && end <= enc.len()
                && !out
                    .iter()
                    .any(|o: &Zeroizing<Vec<u8>>| o[..] == enc[start..end])
            {
                out.push(Zeroizing::new(enc[start..end].to_vec()));
            }
        }
    }
    out
}

impl RouteState {
    pub fn new(route: Route, secret: Zeroizing<Vec<u8>>) -> Result<RouteState> {
        let (https, host, port, base) = parse_upstream(&route.upstream)?;
        if !https
            && host
                .parse::<std::net::IpAddr>()
                .map(|ip| !ip.is_loopback())
                .unwrap_or(true)
        {
            return Err(ProxyError::PlainHttpUpstream(route.name));
        }
        let mut forms = vec![Zeroizing::new(secret.to_vec())];
        forms.extend(base64_forms(&secret));
        forms.push(Zeroizing::new(pct(&secret).into_bytes()));
        forms.retain(|f| f.len() >= 4);
        Ok(RouteState {
            name: route.name,
            https,
            host,
            port,
            base,
            inject: route.inject,
            phantom: route.phantom.into_bytes(),
            endpoints: route.endpoints,
            secret,
            secrets: Arc::new(forms),
        })
    }

    /// Whether the request presents this route's phantom token.
    pub fn presented(&self, parts: &Parts) -> bool {
        let h = &parts.headers;
        let own = match &self.inject {
            InjectMode::Header { header, format } => h.get_all(header.as_str()).iter().any(|v| {
                token::unformat(format, v.as_bytes()).is_some_and(|t| token::same(t, &self.phantom))
            }),
            InjectMode::Query { param } => query_pairs(parts)
                .any(|(k, v)| k == param.as_str() && token::same(v.as_bytes(), &self.phantom)),
            InjectMode::Basic => false,
        };
        own || KEY_HEADERS.iter().any(|name| {
            h.get_all(*name).iter().any(|v| {
                let v = v.as_bytes();
                token::same(v, &self.phantom)
                    || token::unformat("Bearer {}", v)
                        .is_some_and(|t| token::same(t, &self.phantom))
                    || token::basic_password(v).is_some_and(|p| token::same(&p, &self.phantom))
            })
        })
    }

    pub fn endpoint_allowed(&self, method: &str, upstream_path: &str) -> bool {
        self.endpoints.is_empty()
            || self.endpoints.iter().any(|r| {
                (r.method == "*" || r.method.eq_ignore_ascii_case(method))
                    && glob::matches(&r.path, upstream_path)
            })
    }

    /// Remove every trace of the phantom and put the real credential in.
    /// `rest_query` is the query string the agent sent (phantom included).
    pub fn inject(&self, parts: &mut Parts, query: Option<&str>) -> Result<Option<String>> {
        let phantom = &self.phantom;
        let carrying: Vec<HeaderName> = parts
            .headers
            .iter()
            .filter(|(_, v)| {
                v.as_bytes()
                    .windows(phantom.len())
                    .any(|w| w == &phantom[..])
                    || token::basic_password(v.as_bytes()).is_some_and(|p| token::same(&p, phantom))
            })
            .map(|(k, _)| k.clone())
            .collect();
        for k in carrying {
            parts.headers.remove(k);
        }
        let mut pairs: Vec<String> = query
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
            .filter(|p| {
                p.split_once('=')
                    .is_none_or(|(_, v)| v.as_bytes() != &phantom[..])
            })
            .map(str::to_string)
            .collect();
        match &self.inject {
            InjectMode::Header { header, format } => {
                let (pre, post) = format.split_once("{}").unwrap_or(("", ""));
                let mut v = Zeroizing::new(Vec::new());
                v.extend_from_slice(pre.as_bytes());
                v.extend_from_slice(&self.secret);
                v.extend_from_slice(post.as_bytes());
                let mut hv = HeaderValue::from_bytes(&v)
                    .map_err(|_| ProxyError::HeaderValue(self.name.clone()))?;
                hv.set_sensitive(true);
                let name = HeaderName::from_bytes(header.as_bytes())
                    .map_err(|_| ProxyError::InjectHeader(header.clone()))?;
                parts.headers.insert(name, hv);
            }
            InjectMode::Query { param } => {
                pairs.retain(|p| p.split_once('=').map(|(k, _)| k) != Some(param.as_str()));
                pairs.push(format!("{}={}", pct(param.as_bytes()), pct(&self.secret)));
            }
            InjectMode::Basic => {
                let enc = base64::engine::general_purpose::STANDARD.encode(&self.secret[..]);
                let mut hv = HeaderValue::from_str(&format!("Basic {enc}"))
                    .map_err(|_| ProxyError::BasicCredential)?;
                hv.set_sensitive(true);
                parts.headers.insert(hyper::header::AUTHORIZATION, hv);
            }
        }
        Ok((!pairs.is_empty()).then(|| pairs.join("&")))
    }
}

fn query_pairs(parts: &Parts) -> impl Iterator<Item = (&str, &str)> {
    parts
        .uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter_map(|p| p.split_once('='))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(inject: InjectMode) -> RouteState {
        RouteState::new(
            Route {
                name: "svc".into(),
                upstream: "https://api.example.com/v1/".into(),
                inject,
                phantom: "PHANTOM0123".into(),
                endpoints: vec![EndpointRule {
                    method: "POST".into(),
                    path: "/v1/chat/**".into(),
                }],
            },
            Zeroizing::new(b"sk-real-secret".to_vec()),
        )
        .unwrap()
    }

    fn parts(uri: &str, headers: &[(&str, &str)]) -> Parts {
        let mut b = hyper::Request::builder().uri(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn header_route_swaps_phantom_for_secret() {
        let r = route(InjectMode::Header {
            header: "Authorization".into(),
            format: "Bearer {}".into(),
        });
        assert_eq!(
            (r.host.as_str(), r.port, r.base.as_str()),
            ("api.example.com", 443, "/v1")
        );
        let mut p = parts("/svc/chat", &[("authorization", "Bearer PHANTOM0123")]);
        assert!(r.presented(&p));
        assert!(!r.presented(&parts(
            "/svc/chat",
            &[("authorization", "Bearer PHANTOM0124")]
        )));
        r.inject(&mut p, None).unwrap();
        assert_eq!(p.headers["authorization"], "Bearer sk-real-secret");
    }

    #[test]
    fn query_route_and_phantom_in_other_headers() {
        let r = route(InjectMode::Query {
            param: "key".into(),
        });
        let mut p = parts(
            "/svc/x?key=PHANTOM0123&a=1",
            &[("x-api-key", "PHANTOM0123")],
        );
        assert!(r.presented(&p));
        let q = r.inject(&mut p, Some("key=PHANTOM0123&a=1")).unwrap();
        assert_eq!(q.as_deref(), Some("a=1&key=sk-real-secret"));
        assert!(p.headers.get("x-api-key").is_none());
    }

    #[test]
    fn a_phantom_is_valid_only_for_its_own_route() {
        let a = route(InjectMode::Header {
            header: "Authorization".into(),
            format: "Bearer {}".into(),
        });
        let other = Route {
            name: "other".into(),
            upstream: "https://api.other.com".into(),
            inject: InjectMode::Header {
                header: "Authorization".into(),
                format: "Bearer {}".into(),
            },
            phantom: "OTHERPHANTOM".into(),
            endpoints: vec![],
        };
        let b = RouteState::new(other, Zeroizing::new(b"sk-other".to_vec())).unwrap();
        let p = parts("/svc/x", &[("authorization", "Bearer PHANTOM0123")]);
        assert!(a.presented(&p));
        assert!(!b.presented(&p));
    }

    #[test]
    fn base64_of_any_text_carrying_the_secret_is_masked() {
        use base64::engine::general_purpose::{STANDARD, URL_SAFE};
        let forms = base64_forms(b"sk-real-secret");
        for text in [
            "Bearer sk-real-secret",
            "user:sk-real-secret",
            "xsk-real-secret!",
            "ab sk-real-secret",
        ] {
            for enc in [STANDARD.encode(text), URL_SAFE.encode(text)] {
                let mut b = enc.clone().into_bytes();
                crate::scrub::mask(&mut b, &forms);
                let left = String::from_utf8_lossy(&b).into_owned();
                assert!(left.contains("****"), "{text}: {left}");
                // What is left cannot decode to the secret.
                assert!(!String::from_utf8_lossy(
                    &STANDARD.decode(left.replace('*', "A")).unwrap_or_default()
                )
                .contains("sk-real-secret"));
            }
        }
    }

    #[test]
    fn endpoint_rules() {
        let r = route(InjectMode::Basic);
        assert!(r.endpoint_allowed("post", "/v1/chat/completions"));
        assert!(!r.endpoint_allowed("GET", "/v1/chat/completions"));
        assert!(!r.endpoint_allowed("POST", "/v1/files"));
    }

    #[test]
    fn plain_http_only_on_loopback() {
        let mk = |u: &str| {
            RouteState::new(
                Route {
                    name: "x".into(),
                    upstream: u.into(),
                    inject: InjectMode::Basic,
                    phantom: "p".into(),
                    endpoints: vec![],
                },
                Zeroizing::new(b"secret".to_vec()),
            )
        };
        assert!(mk("http://127.0.0.1:8080").is_ok());
        assert!(mk("http://api.example.com").is_err());
        assert!(mk("ftp://x").is_err());
    }
}

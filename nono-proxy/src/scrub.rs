//! Keeping real credentials out of what the agent receives: every
//! occurrence in response headers and bodies is masked (same length, so
//! `Content-Length` stays right), across chunk boundaries.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming};
use zeroize::Zeroizing;

pub type Secrets = Arc<Vec<Zeroizing<Vec<u8>>>>;

/// Replace each occurrence of each secret in `buf` with `*`s.
pub fn mask(buf: &mut [u8], secrets: &[Zeroizing<Vec<u8>>]) {
    for s in secrets.iter().filter(|s| !s.is_empty()) {
        let mut i = 0;
        while i + s.len() <= buf.len() {
            if buf[i..i + s.len()] == s[..] {
                buf[i..i + s.len()].fill(b'*');
                i += s.len();
            } else {
                i += 1;
            }
        }
    }
}

pub fn headers(h: &mut hyper::HeaderMap, secrets: &[Zeroizing<Vec<u8>>]) {
    for v in h.values_mut() {
        let mut bytes = v.as_bytes().to_vec();
        mask(&mut bytes, secrets);
        if bytes != v.as_bytes() {
            if let Ok(nv) = hyper::header::HeaderValue::from_bytes(&bytes) {
                *v = nv;
            }
        }
    }
}

/// A response body with the secrets masked. Holds back the last
/// `longest - 1` bytes of each chunk until the next one arrives.
#[derive(Debug)]
pub struct Scrubbed {
    inner: Incoming,
    secrets: Secrets,
    carry: Vec<u8>,
    keep: usize,
    ended: bool,
    /// Trailers waiting behind the held-back bytes.
    pending: Option<Frame<Bytes>>,
}

impl Scrubbed {
    pub fn new(inner: Incoming, secrets: Secrets) -> Scrubbed {
        let keep = secrets
            .iter()
            .map(|s| s.len())
            .max()
            .unwrap_or(1)
            .saturating_sub(1);
        Scrubbed {
            inner,
            secrets,
            carry: Vec::new(),
            keep,
            ended: false,
            pending: None,
        }
    }
}

impl Body for Scrubbed {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = &mut *self;
        if let Some(t) = this.pending.take() {
            return Poll::Ready(Some(Ok(t)));
        }
        if this.ended {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
            Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                Ok(data) => {
                    this.carry.extend_from_slice(&data);
                    mask(&mut this.carry, &this.secrets);
                    let emit = this.carry.len().saturating_sub(this.keep);
                    let out: Vec<u8> = this.carry.drain(..emit).collect();
                    Poll::Ready(Some(Ok(Frame::data(Bytes::from(out)))))
                }
                Err(mut t) => {
                    if let Some(h) = t.trailers_mut() {
                        headers(h, &this.secrets);
                    }
                    if this.carry.is_empty() {
                        return Poll::Ready(Some(Ok(t)));
                    }
                    this.pending = Some(t);
                    let out = std::mem::take(&mut this.carry);
                    Poll::Ready(Some(Ok(Frame::data(Bytes::from(out)))))
                }
            },
            Poll::Ready(None) => {
                this.ended = true;
                if this.carry.is_empty() {
                    Poll::Ready(None)
                } else {
                    let out = std::mem::take(&mut this.carry);
                    Poll::Ready(Some(Ok(Frame::data(Bytes::from(out)))))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_every_occurrence_same_length() {
        let s = vec![Zeroizing::new(b"sk-REAL".to_vec())];
        let mut b = b"a sk-REAL b sk-REALsk-REAL".to_vec();
        let n = b.len();
        mask(&mut b, &s);
        assert_eq!(b.len(), n);
        assert_eq!(&b[..], b"a ******* b **************");
    }
}

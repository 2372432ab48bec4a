//! A response body sent as the chunks it was built from.
//!
//! The per-port samples of a large account are megabytes, rendered once per scrape and
//! shared by every response for it. Joining them into one buffer would copy them for
//! each response, so hyper writes the chunks one after another, with the length known
//! in advance.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};

#[derive(Debug, Clone, Default)]
pub struct ChunkedBody {
    chunks: VecDeque<Bytes>,
    remaining: u64,
}

impl From<Vec<Bytes>> for ChunkedBody {
    fn from(chunks: Vec<Bytes>) -> ChunkedBody {
        let chunks: VecDeque<Bytes> = chunks
            .into_iter()
            .filter(|chunk| !chunk.is_empty())
            .collect();
        let remaining = chunks.iter().map(|chunk| chunk.len() as u64).sum();
        ChunkedBody { chunks, remaining }
    }
}

impl From<Bytes> for ChunkedBody {
    fn from(chunk: Bytes) -> ChunkedBody {
        ChunkedBody::from(vec![chunk])
    }
}

impl Body for ChunkedBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let chunk = self.chunks.pop_front();
        if let Some(chunk) = &chunk {
            self.remaining -= chunk.len() as u64;
        }
        Poll::Ready(chunk.map(|chunk| Ok(Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;

    #[tokio::test]
    async fn chunks_arrive_in_order_with_an_exact_length() {
        let body = ChunkedBody::from(vec![
            Bytes::from_static(b"one "),
            Bytes::new(),
            Bytes::from_static(b"two"),
        ]);
        assert_eq!(body.size_hint().exact(), Some(7));
        let collected = body.collect().await.expect("infallible").to_bytes();
        assert_eq!(collected, Bytes::from_static(b"one two"));
    }

    #[test]
    fn empty_body_ends_at_once() {
        let body = ChunkedBody::from(Bytes::new());
        assert!(body.is_end_stream());
        assert_eq!(body.size_hint().exact(), Some(0));
    }
}

//! Server-sent events as Streamable HTTP uses them: `data:` lines joined into one JSON message
//! per event, `id:` remembered for resumption. The one SSE reader of the MCP client and the
//! bridge, fed chunk by chunk, with a size cap on every line and event.

use serde_json::Value;

/// An event, or a line, larger than the parser's cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge {
    pub limit: usize,
}

/// The SSE framing of one event stream. Each byte is searched for a line end once, however
/// the stream is cut into chunks.
pub struct SseParser {
    limit: usize,
    buf: Vec<u8>,
    /// Bytes of `buf` known to hold no line end.
    scanned: usize,
    data: String,
    last_id: Option<String>,
    retry_ms: Option<u64>,
}

impl SseParser {
    /// A parser refusing any line or event over `limit` bytes.
    pub fn new(limit: usize) -> SseParser {
        SseParser {
            limit,
            buf: Vec::new(),
            scanned: 0,
            data: String::new(),
            last_id: None,
            retry_ms: None,
        }
    }

    /// The last `id:` seen (for `Last-Event-ID`).
    pub fn last_id(&self) -> Option<&str> {
        self.last_id.as_deref()
    }

    /// The last `retry:` the server asked for: how long to wait before resuming the stream.
    pub fn retry_ms(&self) -> Option<u64> {
        self.retry_ms
    }

    /// Feeds the next chunk; every complete event's JSON message goes to `each` (events whose
    /// data is not JSON are skipped).
    pub fn feed(&mut self, chunk: &[u8], each: &mut impl FnMut(Value)) -> Result<(), TooLarge> {
        self.buf.extend_from_slice(chunk);
        let mut start = 0;
        let mut from = self.scanned;
        while let Some(off) = self.buf[from..].iter().position(|b| *b == b'\n') {
            let end = from + off;
            let line = String::from_utf8_lossy(&self.buf[start..end]).into_owned();
            self.line(line.trim_end_matches('\r'), each)?;
            start = end + 1;
            from = start;
        }
        self.buf.drain(..start);
        self.scanned = self.buf.len();
        if self.buf.len() > self.limit {
            return Err(TooLarge { limit: self.limit });
        }
        Ok(())
    }

    fn line(&mut self, line: &str, each: &mut impl FnMut(Value)) -> Result<(), TooLarge> {
        if line.is_empty() {
            self.dispatch(each);
        } else if let Some(rest) = line.strip_prefix("data:") {
            if self.data.len() + rest.len() > self.limit {
                return Err(TooLarge { limit: self.limit });
            }
            if !self.data.is_empty() {
                self.data.push('\n');
            }
            self.data.push_str(rest.strip_prefix(' ').unwrap_or(rest));
        } else if let Some(rest) = line.strip_prefix("id:") {
            self.last_id = Some(rest.trim().to_owned());
        } else if let Some(rest) = line.strip_prefix("retry:") {
            // The SSE standard ignores a retry field that is not all digits.
            if let Ok(ms) = rest.trim().parse::<u64>() {
                self.retry_ms = Some(ms);
            }
        }
        Ok(())
    }

    fn dispatch(&mut self, each: &mut impl FnMut(Value)) {
        if !self.data.is_empty() {
            if let Ok(v) = serde_json::from_str::<Value>(&self.data) {
                each(v);
            }
            self.data.clear();
        }
    }

    /// The stream ended: an event without its blank line still counts.
    pub fn finish(&mut self, each: &mut impl FnMut(Value)) {
        self.dispatch(each);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The events `bytes` yields when fed in pieces cut at `cuts`.
    fn sse_events(bytes: &[u8], cuts: &[usize]) -> (Vec<Value>, Option<String>) {
        let mut p = SseParser::new(1024 * 1024);
        let mut out = Vec::new();
        let mut each = |v: Value| out.push(v);
        let mut at = 0;
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
        points.sort_unstable();
        points.push(bytes.len());
        for cut in points {
            if cut >= at {
                p.feed(&bytes[at..cut], &mut each).unwrap();
                at = cut;
            }
        }
        p.finish(&mut each);
        (out, p.last_id().map(str::to_owned))
    }

    /// A priming event (empty data) carries the id and the retry interval to resume with.
    #[test]
    fn a_priming_event_gives_the_resumption_id_and_retry() {
        let mut p = SseParser::new(1024);
        let mut n = 0;
        p.feed(b"id: event-1\nretry: 500\ndata: \n\n", &mut |_| n += 1)
            .unwrap();
        assert_eq!(n, 0);
        assert_eq!(p.last_id(), Some("event-1"));
        assert_eq!(p.retry_ms(), Some(500));
        p.feed(b"retry: soon\n", &mut |_| {}).unwrap();
        assert_eq!(p.retry_ms(), Some(500));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, ..Default::default() })]

        /// Any bytes, cut anywhere: no panic, and the same events whatever the cuts.
        #[test]
        fn sse_of_any_bytes_is_the_same_however_it_is_cut(
            bytes in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::prelude::any::<u8>(),
                    proptest::prelude::Just(b'\n'),
                    proptest::prelude::Just(b'\r'),
                ],
                0..600,
            ),
            cuts in proptest::collection::vec(0usize..700, 0..8),
        ) {
            let whole = sse_events(&bytes, &[]);
            proptest::prop_assert_eq!(sse_events(&bytes, &cuts), whole);
        }

        /// Events written as a server writes them come back, in order, however they are cut.
        #[test]
        fn sse_events_round_trip(
            texts in proptest::collection::vec("\\PC{0,40}", 0..6),
            crlf in proptest::prelude::any::<bool>(),
            cuts in proptest::collection::vec(0usize..2000, 0..8),
        ) {
            let eol = if crlf { "\r\n" } else { "\n" };
            let msgs: Vec<Value> = texts
                .iter()
                .enumerate()
                .map(|(i, t)| json!({"jsonrpc": "2.0", "id": i, "result": {"text": t}}))
                .collect();
            let stream: String = msgs
                .iter()
                .enumerate()
                .map(|(i, m)| format!("id: {i}{eol}event: message{eol}data: {m}{eol}{eol}"))
                .collect();
            let (got, last) = sse_events(stream.as_bytes(), &cuts);
            proptest::prop_assert_eq!(got, msgs.clone());
            proptest::prop_assert_eq!(last, msgs.len().checked_sub(1).map(|i| i.to_string()));
        }
    }
}

//! `--tier-log FILE`: the tier timeline as JSON lines, one object per event:
//! `{"t_us": 1234.5, "event": "compile_end", "func": 17, "name": "fib", "thread": "main",
//! "duration_us": 80.0}` (`name` is null for a function without one; `duration_us` only on
//! the events that end a translation or a compilation; `"loop": 2` on the events of a loop's
//! OSR entry: its queueing, compilation and every frame's `osr_entered`).

use std::time::Duration;

use tierwasm::TierEvent;

/// The events as JSON lines.
pub fn to_json_lines(events: &[TierEvent]) -> String {
    let mut out = String::new();
    for event in events {
        let name = event
            .func_name
            .as_deref()
            .map_or("null".to_string(), json_string);
        out.push_str(&format!(
            "{{\"t_us\": {}, \"event\": \"{}\", \"func\": {}, \"name\": {}, \"thread\": {}",
            micros(event.time),
            event.kind.name(),
            event.func_index,
            name,
            json_string(&event.thread)
        ));
        if let Some(loop_index) = event.loop_index {
            out.push_str(&format!(", \"loop\": {loop_index}"));
        }
        if let Some(duration) = event.duration {
            out.push_str(&format!(", \"duration_us\": {}", micros(duration)));
        }
        out.push_str("}\n");
    }
    out
}

fn micros(duration: Duration) -> String {
    format!("{:.1}", duration.as_secs_f64() * 1e6)
}

/// `text` as a JSON string literal.
fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped() {
        assert_eq!(json_string("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000a\"");
    }
}

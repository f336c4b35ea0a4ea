//! Draws per-thread work spans as an SVG Gantt chart so the crawl's concurrency can be seen.

use std::fmt::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanKind {
    Fetch,   // waiting on the network
    Parse,   // CPU work
    Blocked, // a crawler blocked on a full page channel
}

#[derive(Debug, Clone, Copy)]
pub struct Span {
    pub start_ms: f64,
    pub end_ms: f64,
    pub kind: SpanKind,
}

/// Time per kind of work, summed as it happens: what the busy shares need, in constant memory.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Totals {
    pub fetch_ms: f64,
    pub parse_ms: f64,
    pub blocked_ms: f64,
}

#[derive(Debug, Clone)]
pub struct Lane {
    pub thread: String,
    /// Every span, when a timeline will be drawn; empty otherwise.
    pub spans: Vec<Span>,
    pub totals: Totals,
}

impl Lane {
    pub fn new(thread: String) -> Lane {
        Lane {
            thread,
            spans: Vec::new(),
            totals: Totals::default(),
        }
    }

    /// Counts a span, and keeps it only for a timeline: kept always, a fetch and a parse per
    /// page would make memory grow with the crawl.
    pub fn record(&mut self, span: Span, keep: bool) {
        let d = (span.end_ms - span.start_ms).max(0.0);
        match span.kind {
            SpanKind::Fetch => self.totals.fetch_ms += d,
            SpanKind::Parse => self.totals.parse_ms += d,
            SpanKind::Blocked => self.totals.blocked_ms += d,
        }
        if keep {
            self.spans.push(span);
        }
    }
}

const LABEL_W: f64 = 110.0;
const PLOT_W: f64 = 1000.0;
const RIGHT_PAD: f64 = 30.0;
const TITLE_H: f64 = 34.0;
const LANE_H: f64 = 18.0;
const AXIS_H: f64 = 28.0;
const LEGEND_H: f64 = 26.0;
// Drawn in this order so the rarer, more alarming kinds end up on top.
const KINDS: [SpanKind; 3] = [SpanKind::Fetch, SpanKind::Parse, SpanKind::Blocked];

impl SpanKind {
    /// (CSS class, colour, legend text)
    fn style(self) -> (&'static str, &'static str, &'static str) {
        match self {
            SpanKind::Fetch => ("fetch", "#4a86c8", "Fetch = waiting on the network"),
            SpanKind::Parse => ("parse", "#f28e2b", "Parse = CPU work"),
            SpanKind::Blocked => ("blocked", "#d62728", "Blocked = queue full"),
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Maps a time to a plot x offset; `total` is already sanitised, so no NaN can escape.
fn to_px(ms: f64, total: f64) -> f64 {
    if total <= 0.0 {
        return 0.0;
    }
    let ms = if ms.is_nan() { 0.0 } else { ms };
    ms.clamp(0.0, total) / total * PLOT_W
}

struct Bar {
    x0: f64,
    x1: f64,
    count: usize,
    busy_ms: f64,
}

/// Bars of one kind in one lane. Consecutive bars are at least 1px wide and
/// 1px apart, so there are at most PLOT_W / 2 of them however many spans come in.
fn merge(spans: &[Span], kind: SpanKind, total: f64) -> Vec<Bar> {
    let mut bars: Vec<Bar> = spans
        .iter()
        .filter(|s| s.kind == kind)
        .map(|s| {
            let (a, b) = (to_px(s.start_ms, total), to_px(s.end_ms, total));
            let (a, b) = if a <= b { (a, b) } else { (b, a) };
            // Never let a span vanish: even a zero-length one gets a pixel.
            let a = a.min(PLOT_W - 1.0);
            let dur = (s.end_ms - s.start_ms).abs();
            let busy_ms = if dur.is_finite() { dur } else { 0.0 };
            Bar {
                x0: a,
                x1: b.max(a + 1.0),
                count: 1,
                busy_ms,
            }
        })
        .collect();
    bars.sort_by(|p, q| p.x0.total_cmp(&q.x0));
    let mut merged: Vec<Bar> = Vec::new();
    for b in bars {
        match merged.last_mut() {
            // A sub-pixel gap is invisible anyway; merging it is what bounds the rect count.
            Some(last) if b.x0 < last.x1 + 1.0 => {
                last.x1 = last.x1.max(b.x1);
                last.count += 1;
                last.busy_ms += b.busy_ms;
            }
            _ => merged.push(b),
        }
    }
    merged
}

/// A 1, 2 or 5 x 10^n step giving roughly 5-10 ticks.
fn nice_step(total: f64) -> f64 {
    let raw = total / 9.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .map(|m| m * mag)
        .into_iter()
        .find(|s| *s >= raw);
    // Denormal totals would make the step 0 and the tick loop meaningless.
    step.filter(|s| *s > 0.0 && s.is_finite()).unwrap_or(total)
}

fn tick_label(ms: f64, step: f64, seconds: bool) -> String {
    let (div, unit) = if seconds { (1e3, "s") } else { (1.0, "ms") };
    // Just enough decimals to tell neighbouring ticks apart; a bare 0 reads better than 0.0.
    let decimals = (-(step / div).log10().floor()).clamp(0.0, 12.0) as usize;
    let decimals = if ms == 0.0 { 0 } else { decimals };
    format!("{:.decimals$} {unit}", ms / div)
}

/// `title` is shown at the top (e.g. "multi mode: 8 crawlers, 2 parsers, 200 pages in 1.37 s");
/// `total_ms` is the length of the time axis (the run's elapsed time). Lanes are drawn in the given order.
pub fn render(title: &str, lanes: &[Lane], total_ms: f64) -> String {
    let total = Some(total_ms)
        .filter(|t| t.is_finite() && *t > 0.0)
        .unwrap_or(0.0);
    let axis_y = TITLE_H + lanes.len() as f64 * LANE_H;
    let (w, h, title) = (
        LABEL_W + PLOT_W + RIGHT_PAD,
        axis_y + AXIS_H + LEGEND_H,
        escape(title),
    );
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">
<rect class="background" width="100%" height="100%" fill="white"/>
<text x="10" y="22" font-size="15" font-weight="bold">{title}</text>
"#
    );
    let ticks: Vec<f64> = if total > 0.0 {
        let step = nice_step(total);
        let n = (0..=20).take_while(|i| *i as f64 * step <= total * (1.0 + 1e-9));
        n.map(|i| i as f64 * step).collect()
    } else {
        vec![0.0]
    };
    let step = ticks.get(1).copied().unwrap_or(1.0);
    // fmt::Write into a String cannot fail, so its results are ignored throughout.
    for &t in &ticks {
        let (x, ty) = (LABEL_W + to_px(t, total), axis_y + 16.0);
        let label = tick_label(t, step, total >= 1000.0);
        let _ = writeln!(
            s,
            r##"<line class="grid" x1="{x:.1}" y1="{TITLE_H}" x2="{x:.1}" y2="{axis_y}" stroke="#e4e4e4"/><text class="tick" x="{x:.1}" y="{ty}" text-anchor="middle">{label}</text>"##
        );
    }
    for (i, lane) in lanes.iter().enumerate() {
        let (y, name, lx) = (
            TITLE_H + i as f64 * LANE_H,
            escape(&lane.thread),
            LABEL_W - 6.0,
        );
        let _ = writeln!(
            s,
            r#"<g class="lane" data-thread="{name}"><text x="{lx}" y="{}" text-anchor="end">{name}</text>"#,
            y + 13.0
        );
        for kind in KINDS {
            let (class, colour, _) = kind.style();
            for b in merge(&lane.spans, kind, total) {
                let (x, bw, n, ms) = (LABEL_W + b.x0, b.x1 - b.x0, b.count, b.busy_ms);
                // A merged bar is not solid work: fade it by how busy it really was.
                let busy = (n > 1 && total > 0.0).then(|| ms * PLOT_W / (bw * total));
                let op = busy.map_or(1.0, |b| b.clamp(0.35, 1.0));
                let _ = writeln!(
                    s,
                    r#"<rect class="{class}" x="{x:.1}" y="{}" width="{bw:.1}" height="{}" fill="{colour}" fill-opacity="{op:.2}"><title>{class}: {n} span(s), {ms:.2} ms</title></rect>"#,
                    y + 3.0,
                    LANE_H - 6.0
                );
            }
        }
        s.push_str("</g>\n");
    }
    let _ = writeln!(
        s,
        r##"<line class="axis" x1="{LABEL_W}" y1="{axis_y}" x2="{}" y2="{axis_y}" stroke="#555"/>"##,
        LABEL_W + PLOT_W
    );
    let ly = axis_y + AXIS_H;
    for (i, kind) in KINDS.iter().enumerate() {
        let ((_, colour, text), x) = (kind.style(), LABEL_W + i as f64 * 240.0);
        let _ = writeln!(
            s,
            r#"<rect class="swatch" x="{x}" y="{ly}" width="12" height="12" fill="{colour}"/><text x="{}" y="{}">{text}</text>"#,
            x + 18.0,
            ly + 11.0
        );
    }
    s + "</svg>\n"
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use SpanKind::{Blocked, Fetch, Parse};

    /// Enough XML checking to catch what string-built SVG gets wrong: unbalanced
    /// tags, unquoted attributes, raw `&`/`<`, and non-finite numbers.
    fn check_xml(doc: &str) {
        let (mut stack, mut roots, mut rest) = (Vec::new(), 0, doc.trim());
        assert!(rest.starts_with("<svg") || rest.starts_with("<?xml"));
        while let Some(lt) = rest.find('<') {
            check_text(&rest[..lt]);
            let gt = lt + rest[lt..].find('>').expect("unterminated tag");
            let tag = &rest[lt + 1..gt];
            rest = &rest[gt + 1..];
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(stack.pop(), Some(name), "mismatched </{name}>");
                continue;
            }
            let body = tag.trim_end_matches('/');
            let (name, mut attrs) = body.split_at(body.find(' ').unwrap_or(body.len()));
            assert!(!name.is_empty() && name.chars().all(|c| c.is_alphanumeric()));
            while !attrs.trim().is_empty() {
                let (key, v) = attrs.trim_start().split_once('=').expect("no value");
                assert!(!key.contains([' ', '"']), "bad attribute in <{tag}>");
                let v = v.strip_prefix('"').expect("unquoted attribute");
                let (v, after) = v.split_once('"').expect("unterminated attribute");
                check_text(v);
                attrs = after;
            }
            roots += usize::from(stack.is_empty());
            if !tag.ends_with('/') {
                stack.push(name);
            }
        }
        check_text(rest);
        assert!(
            stack.is_empty() && roots == 1,
            "{stack:?} open, {roots} roots"
        );
    }

    fn check_text(t: &str) {
        for (i, _) in t.match_indices('&') {
            let ok = ["&amp;", "&lt;", "&gt;", "&quot;"].map(|e| t[i..].starts_with(e));
            assert!(ok.contains(&true), "raw & in {t}");
        }
        assert!(!t.contains("NaN") && !t.contains("inf"), "non-finite: {t}");
    }

    fn lane(thread: &str, spans: impl IntoIterator<Item = (f64, f64, SpanKind)>) -> Lane {
        recorded(thread, spans, true)
    }

    /// A lane that recorded these (start, end, kind) spans, keeping them or not.
    pub(crate) fn recorded(
        thread: &str,
        spans: impl IntoIterator<Item = (f64, f64, SpanKind)>,
        keep: bool,
    ) -> Lane {
        let mut lane = Lane::new(thread.to_string());
        for (start_ms, end_ms, kind) in spans {
            let span = Span {
                start_ms,
                end_ms,
                kind,
            };
            lane.record(span, keep);
        }
        lane
    }

    #[test]
    fn spans_are_kept_only_for_a_timeline() {
        let spans = [(0.0, 10.0, SpanKind::Fetch), (10.0, 12.5, SpanKind::Parse)];
        let drawn = lane("crawler-1", spans);
        let counted = recorded("crawler-1", spans, false);
        assert_eq!(drawn.spans.len(), 2);
        assert!(counted.spans.is_empty());
        let want = Totals {
            fetch_ms: 10.0,
            parse_ms: 2.5,
            blocked_ms: 0.0,
        };
        assert_eq!((drawn.totals, counted.totals), (want, want));
    }

    /// Each lane group's markup, in document order.
    fn lane_groups(svg: &str) -> Vec<&str> {
        let groups = svg.split(r#"<g class="lane""#).skip(1);
        groups.map(|g| &g[..g.find("</g>").unwrap()]).collect()
    }

    #[test]
    fn one_well_formed_group_per_lane_in_order() {
        let lanes = [
            lane("crawler-1", [(0.0, 300.0, Fetch), (300.0, 320.0, Blocked)]),
            lane("parser-1", [(310.0, 500.0, Parse)]),
            lane("idle", []),
        ];
        let svg = render("1 crawler & 1 parser in 1.37 s", &lanes, 1370.0);
        check_xml(&svg);
        assert!(svg.contains(r#"xmlns="http://www.w3.org/2000/svg""#) && svg.contains("viewBox="));
        let groups = lane_groups(&svg);
        assert_eq!(groups.len(), 3);
        for (g, name) in groups.iter().zip(["crawler-1", "parser-1", "idle"]) {
            assert!(g.starts_with(&format!(r#" data-thread="{name}">"#)), "{g}");
        }
        for class in ["fetch", "parse", "blocked"] {
            assert_eq!(svg.matches(&format!(r#"<rect class="{class}""#)).count(), 1);
        }
        assert!(svg.contains("Blocked = queue full") && svg.contains("crawler &amp; 1"));
    }

    #[test]
    fn escapes_thread_names() {
        let svg = render("t", &[lane(r#"a<b&"c""#, [(1.0, 2.0, Parse)])], 10.0);
        check_xml(&svg);
        assert!(svg.contains(r#"data-thread="a&lt;b&amp;&quot;c&quot;""#));
        assert!(svg.contains(">a&lt;b&amp;&quot;c&quot;</text>"));
    }

    #[test]
    fn merging_bounds_rect_count() {
        let dense = (0..10_000).map(|i| (i as f64 * 0.01, (i + 1) as f64 * 0.01, KINDS[i % 3]));
        // 2.5 px apart cannot merge: the worst case for a single kind.
        let sparse = (0..10_000).map(|i| (i as f64 * 2.5, i as f64 * 2.5 + 0.01, Fetch));
        for total in [100.0, 1000.0] {
            let lanes = [lane("dense", dense.clone()), lane("sparse", sparse.clone())];
            let svg = render("t", &lanes, total);
            check_xml(&svg);
            for g in lane_groups(&svg) {
                assert!((1..=1000).contains(&g.matches("<rect").count()), "{total}");
            }
        }
        // Each kind fills a third of the dense lane, so its merged bar is drawn faded.
        assert!(render("t", &[lane("d", dense)], 100.0).contains(r#"fill-opacity="0.35""#));
        let svg = render("t", &[lane("s", sparse.take(400))], 1000.0);
        assert_eq!(svg.matches("<rect class=\"fetch\"").count(), 400);
    }

    #[test]
    fn tiny_span_still_drawn() {
        let svg = render("t", &[lane("single", [(5.0, 5.000001, Blocked)])], 60_000.0);
        assert_eq!(svg.matches(r#"<rect class="blocked""#).count(), 1);
        assert!(svg.contains(r#"width="1.0""#));
    }

    #[test]
    fn ticks_are_nice() {
        let cases = [
            (1370.0, "0.2 s"),
            (37.0, "5 ms"),
            (0.5, "0.1 ms"),
            (9e4, "10 s"),
        ];
        for (total, tick) in cases {
            let svg = render("t", &[], total);
            check_xml(&svg);
            let n = svg.matches(r#"class="tick""#).count();
            assert!((5..=11).contains(&n), "{n} ticks for {total}");
            assert!(svg.contains(&format!(">{tick}</text>")), "{total}: {svg}");
            assert_eq!(svg.matches(r#"class="grid""#).count(), n);
        }
    }

    #[test]
    fn degenerate_input_stays_finite() {
        let spans = [
            (-50.0, 5.0, Fetch),
            (f64::NAN, f64::INFINITY, Parse),
            (900.0, 2000.0, Blocked),
            (30.0, 10.0, Fetch),
        ];
        for total in [0.0, -1.0, f64::NAN, 1000.0] {
            let svg = render("t", &[lane("x", spans), lane("empty", [])], total);
            check_xml(&svg);
            let rects = lane_groups(&svg)[0].matches("<rect").count();
            assert_eq!(rects, 3 + usize::from(total > 0.0), "{total}");
            assert!(svg.contains(r#"class="tick""#));
        }
    }
}

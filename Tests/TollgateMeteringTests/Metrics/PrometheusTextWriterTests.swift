// SPDX-License-Identifier: Apache-2.0
// The exposition format's rules (https://prometheus.io/docs/instrumenting/exposition_formats/):
// escapes in label values and HELP text, one HELP/TYPE per family, no series twice, and
// histograms with cumulative buckets up to +Inf, then _sum and _count.
import Testing
import TollgateMetering

struct PrometheusTextWriterTests {
    @Test func labelValuesEscapeBackslashQuoteAndNewline() {
        var out = PrometheusTextWriter()
        out.family("t_total", .counter, help: "A help with \\ and\nnewline \"quotes\" stay.")
        out.sample("t_total", ["user": "a\\b\"c\nd"], "1")
        #expect(out.text == """
        # HELP t_total A help with \\\\ and\\nnewline "quotes" stay.
        # TYPE t_total counter
        t_total{user="a\\\\b\\"c\\nd"} 1

        """)
    }

    @Test func aValueWithoutSpecialCharactersIsUnchanged() {
        #expect(PrometheusTextWriter.escapeLabelValue("llama-3.1-8b/ünï") == "llama-3.1-8b/ünï")
    }

    @Test func aSeriesWrittenTwiceIsRefusedAndAFamilyDeclaredOnce() {
        var out = PrometheusTextWriter()
        out.family("x", .gauge, help: "h")
        out.sample("x", ["a": "1"], "1")
        out.family("x", .gauge, help: "h")
        out.sample("x", ["a": "1"], "2")
        out.sample("x", ["a": "2"], "3")
        #expect(out.duplicates == 1)
        #expect(out.text == "# HELP x h\n# TYPE x gauge\nx{a=\"1\"} 1\nx{a=\"2\"} 3\n")
    }

    @Test func histogramsAreCumulativeWithInfSumAndCount() {
        var histogram = LatencyHistogram()
        for seconds in [0.001, 0.005, 0.0051, 0.3, 700] { histogram.observe(seconds: seconds) }
        var out = PrometheusTextWriter()
        out.histogram("d_seconds", labels: [(key: "model", value: "m")], histogram)
        let lines = out.text.split(separator: "\n").map(String.init)
        #expect(lines.count == 17 + 2)
        #expect(lines.first == #"d_seconds_bucket{model="m",le="0.005"} 2"#)
        #expect(lines.contains(#"d_seconds_bucket{model="m",le="0.01"} 3"#))
        #expect(lines.contains(#"d_seconds_bucket{model="m",le="0.25"} 3"#))
        #expect(lines.contains(#"d_seconds_bucket{model="m",le="0.5"} 4"#))
        #expect(lines.contains(#"d_seconds_bucket{model="m",le="600"} 4"#))
        #expect(lines.contains(#"d_seconds_bucket{model="m",le="+Inf"} 5"#))
        #expect(lines.contains(#"d_seconds_count{model="m"} 5"#))
        let sum = lines.first { $0.hasPrefix(#"d_seconds_sum{model="m"} "#) }.flatMap { Double($0.split(separator: " ")[1]) }
        #expect(abs((sum ?? 0) - 700.3111) < 1e-9)
    }

    @Test func floatsAreWrittenAsTheFormatSpellsThem() {
        #expect(PrometheusTextWriter.number(.infinity) == "+Inf")
        #expect(PrometheusTextWriter.number(-.infinity) == "-Inf")
        #expect(PrometheusTextWriter.number(.nan) == "NaN")
        #expect(PrometheusTextWriter.number(0.25) == "0.25")
    }
}

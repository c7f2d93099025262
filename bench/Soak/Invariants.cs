using System.Text;

namespace OcpTalkdesk.Bench.Soak;

/// <summary>The delivery invariants of issue #7, checked against what the upstream counted.</summary>
internal static class Invariants
{
    public static (bool Passed, string Summary) Check(SoakReport report, CountingUpstream upstream)
    {
        var failures = new List<string>();
        var counts = new SortedDictionary<int, int>();
        for (var n = 0; n < report.Status.Length; n++)
        {
            var status = report.Status[n];
            counts[status] = counts.GetValueOrDefault(status) + 1;
            upstream.Accepted.TryGetValue(n, out var accepted);
            var acceptedCount = accepted?.Count ?? 0;
            if (status is >= 200 and < 300 && (acceptedCount != 1 || !accepted!.TryPeek(out var h) || h != report.Hash[n]))
            {
                failures.Add($"event {n}: answered {status} but OCP accepted it {acceptedCount} times or with other bytes");
            }

            if (report.Invalid[n] && (status != 400 || upstream.Seen.ContainsKey(n)))
            {
                failures.Add($"event {n}: invalid, answered {status}, reached OCP {upstream.Seen.GetValueOrDefault(n)} times");
            }

            if (status >= 500 && status is not (502 or 503 or 504))
            {
                failures.Add($"event {n}: undefined answer {status}");
            }

            if (status == -1)
            {
                failures.Add($"event {n}: no answer (connection failed)");
            }
        }

        var rss = report.Rss;
        var summary = new StringBuilder()
            .AppendLine($"events: {report.Status.Length} in {report.Elapsed.TotalSeconds:0} s ({report.Status.Length / report.Elapsed.TotalSeconds:0}/s)")
            .AppendLine("answers: " + string.Join(", ", counts.Select(c => $"{c.Key}={c.Value}")))
            .AppendLine($"OCP accepted: {upstream.Accepted.Count} events; 401-then-resend: {upstream.Seen.Count(s => Faults.Unauthorized(s.Key) && s.Value == 2)}")
            .AppendLine($"gateway RSS MB: first {rss[0].RssMb:0.0}, last {rss[^1].RssMb:0.0}, peak {rss.Max(r => r.RssMb):0.0} ({rss.Count} samples)")
            .AppendLine(failures.Count == 0 ? "invariants: all hold" : $"invariants: {failures.Count} violations, first: " + string.Join("; ", failures.Take(5)));
        return (failures.Count == 0, summary.ToString());
    }
}

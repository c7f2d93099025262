using System.Security.Cryptography;
using System.Text;
using BenchmarkDotNet.Attributes;
using OcpTalkdesk.Gateway.InboundAuth;

namespace OcpTalkdesk.Gateway.Benchmarks;

/// <summary>
/// Two of issue #23's "if measurement shows it pays" questions, priced alone: the timeout sources an event
/// passes (ASP.NET Core's request timeout, the store-and-forward attempt budget, YARP's pooled activity
/// timeout) and the constant-time API-key comparison (SHA-256 of the presented key against a comparison of
/// the plain bytes). The load run says what ~1 µs is worth: ~85 µs of CPU per event.
/// </summary>
[MemoryDiagnoser]
public class EventPathCostBenchmarks : IDisposable
{
    private readonly CancellationTokenSource _aborted = new();
    private readonly CancellationTokenSource _pooled = new();
    private readonly IReadOnlyList<ConfiguredSecret> _hashedKey =
        [ConfiguredSecret.Of("sha256:" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(Presented))))];
    private readonly IReadOnlyList<ConfiguredSecret> _plainKey = [ConfiguredSecret.Of(Presented)];
    private const string Presented = "bench-inbound-key-0001";

    [Benchmark(Description = "Request timeout / attempt budget: linked source + CancelAfter + Dispose")]
    public bool LinkedTimeoutSource()
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(_aborted.Token);
        linked.CancelAfter(TimeSpan.FromSeconds(10));
        return linked.IsCancellationRequested;
    }

    [Benchmark(Description = "YARP's activity timeout as it pools it: register + CancelAfter + TryReset")]
    public bool PooledActivitySource()
    {
        var registration = _aborted.Token.UnsafeRegister(static _ => { }, null);
        _pooled.CancelAfter(TimeSpan.FromSeconds(100));
        registration.Dispose();
        return _pooled.TryReset();
    }

    [Benchmark(Description = "API key configured as sha256:<hex> (every key before #23): SHA-256 of the presented key")]
    public bool ApiKeyHashed() => ConfiguredSecret.MatchesAny(Presented, _hashedKey);

    [Benchmark(Description = "API key configured in plain text: fixed-time compare of the bytes")]
    public bool ApiKeyPlain() => ConfiguredSecret.MatchesAny(Presented, _plainKey);

    public void Dispose()
    {
        _aborted.Dispose();
        _pooled.Dispose();
        GC.SuppressFinalize(this);
    }
}

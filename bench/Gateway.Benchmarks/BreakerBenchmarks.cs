using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OcpTalkdesk.Gateway.Delivery;
using OcpTalkdesk.Gateway.Metrics;

namespace OcpTalkdesk.Gateway.Benchmarks;

/// <summary>What the circuit breaker adds to every live event in store-and-forward mode: the closed check and the outcome.</summary>
[MemoryDiagnoser]
public class BreakerBenchmarks
{
    private readonly OcpBreakers _breakers = new(new Monitor(), TimeProvider.System, new GatewayMetrics(), NullLogger<OcpBreakers>.Instance);

    [Benchmark(Description = "OcpBreakers.IsClosed + Record(success), per live event")]
    public bool ClosedAndRecord()
    {
        var closed = _breakers.IsClosed("ocp");
        _breakers.Record("ocp", took: true);
        return closed;
    }

    private readonly RedeliveryPacing _pacing = new(new Monitor(), new GatewayMetrics(), TimeProvider.System, NullLogger<RedeliveryPacing>.Instance);

    [Benchmark(Description = "RedeliveryPacing.For + LiveStarted + LiveEnded, per live event")]
    public long LiveForwardCounted()
    {
        var pace = _pacing.For("ocp");
        var ticket = pace.LiveStarted();
        pace.LiveEnded();
        return ticket.Sequence;
    }

    private sealed class Monitor : IOptionsMonitor<DeliveryOptions>
    {
        public DeliveryOptions CurrentValue { get; } = new() { Mode = DeliveryMode.StoreAndForward };

        public DeliveryOptions Get(string? name) => CurrentValue;

        public IDisposable? OnChange(Action<DeliveryOptions, string?> listener) => null;
    }
}

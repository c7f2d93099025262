using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using OcpTalkdesk.Gateway.Metrics;
using Polly;
using Polly.CircuitBreaker;

namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>
/// One Polly circuit breaker per OCP® cluster (docs/decisions/0008-ocp-breaker.md). The live step asks
/// <see cref="IsClosed"/> before forwarding and parks at once when it is not; the redelivery worker sends one probe
/// when the break has run out. Both report each forward's outcome with <see cref="Record"/>: Polly keeps the
/// sampling window, the failure ratio and the open/half-open/closed transitions.
/// </summary>
internal sealed class OcpBreakers(IOptionsMonitor<DeliveryOptions> options, TimeProvider time, GatewayMetrics metrics, ILogger<OcpBreakers> logger)
{
    private readonly ConcurrentDictionary<string, Breaker> _breakers = new(StringComparer.Ordinal);

    /// <summary>Whether the breaker is on at all (store-and-forward's setting).</summary>
    public bool Enabled => options.CurrentValue.Breaker.Enabled;

    /// <summary>True when events for <paramref name="cluster"/> may be forwarded now (the breaker is closed, or off).</summary>
    public bool IsClosed(string cluster) => !Enabled || For(cluster).Closed;

    /// <summary>
    /// True when the worker may send <paramref name="cluster"/> an event: closed, half-open, or open with its break
    /// run out (the next <see cref="Record"/> is then Polly's half-open trial).
    /// </summary>
    public bool MayProbe(string cluster, DateTimeOffset now) =>
        !Enabled || For(cluster) is var breaker && (breaker.State.CircuitState != CircuitState.Open || now >= breaker.OpenUntil);

    /// <summary>True when some cluster's breaker is open or half-open.</summary>
    public bool AnyOpen(out string cluster)
    {
        foreach (var (name, breaker) in _breakers)
        {
            if (breaker.State.CircuitState is CircuitState.Open or CircuitState.HalfOpen)
            {
                cluster = name;
                return true;
            }
        }

        cluster = string.Empty;
        return false;
    }

    /// <summary>Reports a forward's outcome: <paramref name="took"/> is OCP®'s final answer (2xx or 4xx).</summary>
    public void Record(string cluster, bool took)
    {
        if (!Enabled)
        {
            return;
        }

        try
        {
            // The forward has already happened (through YARP, with its own budget); executing its known outcome
            // lets Polly count it without wrapping YARP's pipeline.
            For(cluster).Pipeline.Execute(static took => took, took);
        }
        catch (BrokenCircuitException)
        {
            // Opened meanwhile by another forward: nothing more to count.
        }
    }

    /// <summary>Adds the time since the last call to each breaker's current state, for the metrics.</summary>
    public void Observe(DateTimeOffset now)
    {
        foreach (var (name, breaker) in _breakers)
        {
            var state = breaker.State.CircuitState;
            var elapsed = (now - breaker.Observed).TotalSeconds;
            breaker.Observed = now;
            metrics.BreakerObserved(name, Code(state), Label(state), Math.Max(0, elapsed));
        }
    }

    private static int Code(CircuitState state) => state switch
    {
        CircuitState.Closed => 0,
        CircuitState.HalfOpen => 1,
        _ => 2,
    };

    private static string Label(CircuitState state) => state switch
    {
        CircuitState.Closed => "closed",
        CircuitState.HalfOpen => "half_open",
        _ => "open",
    };

    private Breaker For(string cluster) => _breakers.TryGetValue(cluster, out var breaker) ? breaker : _breakers.GetOrAdd(cluster, Create);

    private Breaker Create(string cluster)
    {
        var settings = options.CurrentValue.Breaker;
        var breaker = new Breaker { Observed = time.GetUtcNow() };
        breaker.Pipeline = new ResiliencePipelineBuilder<bool> { TimeProvider = time }
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<bool>
            {
                FailureRatio = settings.FailureRatio,
                MinimumThroughput = settings.MinimumThroughput,
                SamplingDuration = settings.SamplingDuration,
                BreakDuration = settings.BreakDuration,
                ShouldHandle = static args => ValueTask.FromResult(args.Outcome.Result is false),
                StateProvider = breaker.State,
                OnOpened = args =>
                {
                    breaker.Closed = false;
                    breaker.OpenUntil = time.GetUtcNow() + args.BreakDuration;
                    DeliveryLog.BreakerOpened(logger, cluster, args.BreakDuration.TotalSeconds);
                    return ValueTask.CompletedTask;
                },
                OnHalfOpened = _ =>
                {
                    breaker.Closed = false;
                    return ValueTask.CompletedTask;
                },
                OnClosed = _ =>
                {
                    breaker.Closed = true;
                    DeliveryLog.BreakerClosed(logger, cluster);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
        return breaker;
    }

    private sealed class Breaker
    {
        private volatile bool _closed = true;

        /// <summary>
        /// Kept by Polly's transition callbacks, so the live step's question is one volatile read: the state
        /// provider's <c>CircuitState</c> takes the breaker's lock on every call.
        /// </summary>
        public bool Closed
        {
            get => _closed;
            set => _closed = value;
        }

        public CircuitBreakerStateProvider State { get; } = new();

        public ResiliencePipeline<bool> Pipeline { get; set; } = null!;

        public DateTimeOffset OpenUntil { get; set; }

        public DateTimeOffset Observed { get; set; }
    }
}

using System.Threading.RateLimiting;

namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>One paced forward: its number (later than every decrease so far, or not) and how many were in flight with it.</summary>
internal readonly record struct PaceTicket(long Sequence, int InFlight);

/// <summary>How a paced forward ended, for <see cref="ClusterPace.Finished"/>.</summary>
internal enum PaceSignal
{
    /// <summary>OCP® gave its final answer (2xx, or a 4xx other than 408, 425, 429).</summary>
    Took,

    /// <summary>OCP® asked for less: 429, or 503 with <c>Retry-After</c>.</summary>
    PushedBack,

    /// <summary>No answer in time, unreachable, or a 5xx: OCP® is struggling.</summary>
    Failed,

    /// <summary>Ended without an answer that says anything (the gateway is stopping): the slot is only given back.</summary>
    Abandoned,
}

/// <summary>
/// How many redelivery forwards one OCP® cluster gets at once: an AIMD limit (TCP's congestion window, as Netflix's
/// concurrency-limits and Envoy's adaptive concurrency apply it to RPCs) on what OCP® takes from this replica at once, live
/// forwards included, so the drain uses what live events leave. It starts at <see cref="Initial"/>, doubles each round trip
/// until OCP® first pushes back, then grows by one per round trip (up to just below where it was refused, then slower)
/// while OCP® answers quickly and the limit is in use, shrinks to ¾ on a pushback (live or redelivered) or a failure
/// and to 9/10 when answers get slower than twice the lowest recent latency (once per window: one burst of 429s to what was
/// already in flight counts once); the drain's own share never exceeds MaxRedeliveryConcurrency. An optional token bucket
/// (<see cref="TokenBucketRateLimiter"/>) caps the rate. Written here because no served library adapts concurrency:
/// System.Threading.RateLimiting and Polly limit to a fixed number.
/// </summary>
internal sealed class ClusterPace : IDisposable
{
    /// <summary>Where the limit starts: low, so a recovering OCP® is not hit with a full batch at once.</summary>
    public const int Initial = 4;

    private const double Decrease = 0.75;
    private const double SlowDecrease = 0.9;
    private const double LatencyTolerance = 2.0;
    private const double LatencySlackMs = 5;
    private const double SlowProbe = 64;
    private static readonly TimeSpan BaselineWindow = TimeSpan.FromSeconds(10);

    private readonly Lock _gate = new();
    private readonly int _max;
    private readonly TokenBucketRateLimiter? _rate;
    private readonly TimeProvider _time;
    private double _limit;
    private int _inFlight;
    private int _live;
    private long _sent;
    private long _decreasedAt;
    private long _windowStart;
    private double _roundTripMs;
    private double _baselineMs;
    private double _windowMinMs;
    private double _previousWindowMinMs;
    private long? _windowStarted;
    private double _ceiling = double.PositiveInfinity;
    private bool _windowFull;
    private int _livePushbacks;
    private int _redeliveryPushbacks;

    public ClusterPace(string cluster, int max, double? maxRate, TimeProvider time)
    {
        Cluster = cluster;
        _max = max;
        _limit = Math.Min(Initial, max);
        _time = time;
        if (maxRate is { } rate)
        {
            // Refilled ten times a second (or once per event below 10/s), with no burst beyond one refill.
            var period = rate >= 10 ? TimeSpan.FromMilliseconds(100) : TimeSpan.FromSeconds(1 / rate);
            var tokens = Math.Max(1, (int)Math.Round(rate * period.TotalSeconds));
            _rate = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
            {
                TokenLimit = tokens,
                TokensPerPeriod = tokens,
                ReplenishmentPeriod = period,
                QueueLimit = 0,
                AutoReplenishment = true,
            });
        }
    }

    /// <summary>The cluster this pace is for.</summary>
    public string Cluster { get; }

    /// <summary>How many forwards (redelivered and live) the cluster is allowed in flight now.</summary>
    public int Allowed
    {
        get
        {
            lock (_gate)
            {
                return (int)_limit;
            }
        }
    }

    /// <summary>How many more events the worker may send now (at least one when none of its own is in flight).</summary>
    public int Free
    {
        get
        {
            lock (_gate)
            {
                return Room();
            }
        }
    }

    /// <summary>
    /// Takes a slot for a redelivery forward (and a token, with a rate cap); false when the cluster has none now. The
    /// <paramref name="ticket"/> identifies the send for <see cref="Finished"/>. <paramref name="force"/> takes one whatever
    /// the room (the breaker's probe).
    /// </summary>
    public bool TryStart(out PaceTicket ticket, bool force = false)
    {
        ticket = default;
        lock (_gate)
        {
            if (!force && Room() == 0)
            {
                return false;
            }

            if (!force && _rate is not null)
            {
                using var lease = _rate.AttemptAcquire();
                if (!lease.IsAcquired)
                {
                    return false;
                }
            }

            _inFlight++;
            ticket = new PaceTicket(Interlocked.Increment(ref _sent), _inFlight + Volatile.Read(ref _live));
            // The window was used to the full: what comes back until it empties says the limit, not the backlog, held
            // the drain (TCP's "cwnd-limited"), so answers may grow it.
            _windowFull |= _inFlight + Volatile.Read(ref _live) >= (int)_limit;
            return true;
        }
    }

    /// <summary>Gives the slot of send <paramref name="ticket"/> back with what OCP® said and how long it took.</summary>
    public void Finished(PaceTicket ticket, PaceSignal signal, TimeSpan latency)
    {
        lock (_gate)
        {
            // Whether the limit was in use when this forward ended: a limit only grows when it is what holds the drain back.
            _inFlight = Math.Max(0, _inFlight - 1);
            switch (signal)
            {
                case PaceSignal.Took:
                    Observe(latency.TotalMilliseconds);
                    if (_roundTripMs > (LatencyTolerance * _baselineMs) + LatencySlackMs)
                    {
                        // Answers slower than OCP® gives when it is not queueing: back off before it starts refusing.
                        _ = Shrink(ticket, SlowDecrease);
                    }
                    else if (_windowFull)
                    {
                        Grow();
                    }

                    break;
                case PaceSignal.PushedBack:
                    _redeliveryPushbacks++;
                    PushedBack(ticket);
                    break;
                case PaceSignal.Failed:
                    _ = Shrink(ticket, Decrease);
                    break;
                default:
                    break;
            }

            if (_inFlight == 0)
            {
                _windowFull = false;
            }
        }
    }

    /// <summary>A live forward to this cluster starts: it counts against the limit, so the drain yields to it. Returns its ticket.</summary>
    public PaceTicket LiveStarted()
    {
        var live = Interlocked.Increment(ref _live);
        return new PaceTicket(Interlocked.Increment(ref _sent), Volatile.Read(ref _inFlight) + live);
    }

    /// <summary>A live forward ended.</summary>
    public void LiveEnded() => Interlocked.Decrement(ref _live);

    /// <summary>OCP® pushed back on a live forward: the drain slows down for the live events.</summary>
    public void LivePushedBack(PaceTicket ticket)
    {
        lock (_gate)
        {
            _livePushbacks++;
            PushedBack(ticket);
        }
    }

    /// <summary>The pushbacks counted since the last call (live, redelivery).</summary>
    public (int Live, int Redelivery) TakePushbacks()
    {
        lock (_gate)
        {
            var counts = (_livePushbacks, _redeliveryPushbacks);
            (_livePushbacks, _redeliveryPushbacks) = (0, 0);
            return counts;
        }
    }

    public void Dispose() => _rate?.Dispose();

    private int Room()
    {
        var room = Math.Min((int)_limit - Volatile.Read(ref _live), _max) - _inFlight;
        // However busy the live path, the drain keeps one forward going, or a backlog would wait for a quiet moment.
        return _inFlight == 0 ? Math.Max(1, room) : Math.Max(0, room);
    }

    /// <summary>
    /// A smoothed round trip, and the lowest one over the last one to two <see cref="BaselineWindow"/>s (BBR's windowed
    /// minimum): answers slower than that for a while become the new normal, so a slower OCP® is not throttled for ever.
    /// </summary>
    private void Observe(double ms)
    {
        _roundTripMs = _roundTripMs == 0 ? ms : _roundTripMs + ((ms - _roundTripMs) * 0.1);
        if (_windowStarted is not { } started || _time.GetElapsedTime(started) >= BaselineWindow)
        {
            _previousWindowMinMs = _windowStarted is null ? ms : _windowMinMs;
            _windowMinMs = ms;
            _windowStarted = _time.GetTimestamp();
        }

        _windowMinMs = Math.Min(_windowMinMs, ms);
        _baselineMs = Math.Min(_previousWindowMinMs, _windowMinMs);
    }

    /// <summary>
    /// One more per round trip of the drain's own window (live forwards OCP® is taking are evidence too) up to one below the
    /// last pushback (less one slot kept for live events), then a sixty-fourth as fast: OCP® may have
    /// more room now, but each probe past the ceiling costs a 429. The drain itself never goes past MaxRedeliveryConcurrency.
    /// </summary>
    private void Grow()
    {
        var live = Volatile.Read(ref _live);
        // Until OCP® first pushes back, TCP's slow start: one more per answer, doubling each round trip from Initial.
        var step = double.IsPositiveInfinity(_ceiling) ? 1 : 1 / Math.Max(1, _limit - live);
        // One slot below the ceiling is always left free: a live event that arrives finds room without waiting for the
        // drain to notice it (the drain then leaves it the slot; at worst it costs a pure drain one slot of what OCP® takes).
        const int reserve = 1;
        var grown = Math.Max(_limit, live) + step;
        if (grown > _ceiling - reserve)
        {
            grown = Math.Max(_limit, live) + (step / SlowProbe);
            _ceiling = Math.Max(_ceiling, grown + reserve);
        }

        _limit = Math.Min(_max + live, grown);
    }

    /// <summary>
    /// OCP® refused a forward sent with <see cref="PaceTicket.InFlight"/> in flight: it takes fewer than that, so the
    /// ceiling is at most one less; the limit shrinks once per window.
    /// </summary>
    private void PushedBack(PaceTicket ticket)
    {
        // Only refusals lower the ceiling and only growth past it raises it (slowly): the lowest count refused is the
        // best estimate, whether its refusal shrank the limit or came in the same burst.
        if (Shrink(ticket, Decrease) || ticket.Sequence > _windowStart)
        {
            _ceiling = Math.Min(_ceiling, Math.Max(1, ticket.InFlight - 1));
        }
    }

    /// <summary>
    /// Lowers the limit, once per window: only the answer to a send made after the last decrease says something new
    /// (TCP's recovery point), so a burst of refusals to what was already in flight counts once, while a refusal to a
    /// send made at the lowered limit lowers it again.
    /// </summary>
    private bool Shrink(PaceTicket ticket, double factor)
    {
        if (ticket.Sequence <= _decreasedAt)
        {
            return false;
        }

        _windowStart = _decreasedAt;
        _decreasedAt = Interlocked.Read(ref _sent);
        _limit = Math.Max(1, _limit * factor);
        _windowFull = false;
        return true;
    }
}

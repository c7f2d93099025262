namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>
/// Whether the delivery store and OCP® took their last operations, for <c>/readyz</c> and for the log. A store
/// outage is one Warning when it begins and one when it ends (each failure's exception at Debug), not an
/// Error per event: during an outage every event would otherwise log one.
/// </summary>
internal sealed class StoreHealth(TimeProvider time, ILogger<StoreHealth> logger)
{
    private readonly Lock _transition = new();
    private volatile string? _lastError;
    private volatile bool _ocpFailing;
    private long _failingSince;

    /// <summary>Why the store's last operation failed, or null when it succeeded.</summary>
    public string? LastError => _lastError;

    /// <summary>True when OCP® failed the last live forward or redelivery (it refused, failed or did not answer).</summary>
    public bool OcpFailing => _ocpFailing;

    private long _lastTook;

    /// <summary>When OCP® last took an event (to the second), or null when it has not since start.</summary>
    public DateTimeOffset? LastOcpSuccess => Volatile.Read(ref _lastTook) is var ticks and > 0 ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;

    /// <summary>The store answered; logs the end of an outage once.</summary>
    public void Succeeded()
    {
        // The hot path: one volatile read while the store is healthy.
        if (_lastError is null)
        {
            return;
        }

        lock (_transition)
        {
            if (_lastError is null)
            {
                return;
            }

            _lastError = null;
            DeliveryLog.StoreBack(logger, (time.GetUtcNow() - new DateTimeOffset(_failingSince, TimeSpan.Zero)).TotalSeconds);
        }
    }

    /// <summary>The store failed <paramref name="operation"/>; logs the start of an outage once, each failure at Debug.</summary>
    public void Failed(string operation, Exception exception)
    {
        var error = exception.GetType().Name + ": " + exception.Message;
        DeliveryLog.StoreFailedAgain(logger, operation, exception);
        lock (_transition)
        {
            if (_lastError is null)
            {
                _failingSince = time.GetUtcNow().UtcTicks;
                DeliveryLog.StoreFailed(logger, operation, error);
            }

            _lastError = error;
        }
    }

    /// <summary>Whether OCP® took the last event sent to it (a final answer, 2xx or 4xx) or failed it.</summary>
    public void OcpAnswered(bool took)
    {
        if (took)
        {
            // To the second, for the console: a read per event, a write at most once a second.
            var now = time.GetUtcNow().UtcTicks;
            if (now - Volatile.Read(ref _lastTook) >= TimeSpan.TicksPerSecond)
            {
                Volatile.Write(ref _lastTook, now);
            }
        }

        // Written only on a change, so replicas of the cache line are not invalidated on every event.
        if (_ocpFailing == took)
        {
            _ocpFailing = !took;
        }
    }
}

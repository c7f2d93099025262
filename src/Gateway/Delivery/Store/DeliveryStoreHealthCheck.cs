using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>
/// With store-and-forward, ready means events are safe or delivered: with the store answering an OCP® outage
/// loses nothing, so OCP® being down never makes the gateway unready; a store that fails is Degraded while OCP®
/// takes events, and unready only when OCP® fails them too.
/// </summary>
internal sealed class DeliveryStoreHealthCheck(IDeliveryStore store, QueueCounts queue, StoreHealth health, OcpBreakers breakers, GroupCommit parks,
    IOptionsMonitor<DeliveryOptions> options, TimeProvider time) : IHealthCheck
{
    /// <summary>How long after the last refused park readiness still says Degraded.</summary>
    internal static readonly TimeSpan BusyShown = TimeSpan.FromMinutes(1);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            // The key ids are read fresh (a few index probes), so the probe always asks the store itself; the counts may
            // be a little older where the store is large (QueueCounts).
            var missing = await store.MissingKeysAsync(cancellationToken);
            var counts = await queue.ReadAsync(cancellationToken);
            health.Succeeded();
            var data = counts.ToDictionary(c => c.Key, c => (object)c.Value, StringComparer.Ordinal);
            if (missing.Count > 0)
            {
                // Kept and safe, but not deliverable until the operator puts the key back.
                data["withoutKey"] = string.Join(", ", missing.Select(m => $"{m.Key}: {m.Value}"));
                return HealthCheckResult.Degraded(
                    $"{missing.Values.Sum()} stored event(s) are encrypted with a key this gateway does not have ({string.Join(", ", missing.Keys)}): put Gateway:Delivery:EncryptionKeys back", data: data);
            }

            data["waitingParks"] = parks.WaitingParks;
            if (parks.LastRefusedAt is { } refused && time.GetUtcNow() - refused < BusyShown)
            {
                // Ready all the same: a replica taken out would send its share to the others, which park at the same pace.
                return HealthCheckResult.Degraded(
                    $"Parking cannot keep up: events were refused with 503 (Gateway:Delivery:MaxWaitingParks = {options.CurrentValue.MaxWaitingParks} waiting) at {refused:O}", data: data);
            }

            if (breakers.AnyOpen(out var cluster))
            {
                // Ready all the same: every event is kept and will be delivered once OCP® takes them again.
                data["breaker"] = cluster + ": open";
                return HealthCheckResult.Degraded($"OCP® cluster {cluster} is failing: circuit open, events are parked at once and the worker probes", data: data);
            }

            return HealthCheckResult.Healthy("The delivery store answers", data);
        }
        catch (Exception ex) when (StoreAndForwardMiddleware.IsStoreFailure(ex))
        {
            health.Failed("health check", ex);
            // Ready means events are safe or delivered: while OCP® takes them, they go straight through and a
            // load balancer must not pull this replica; only with OCP® failing too is nothing safe.
            return health.OcpFailing
                ? HealthCheckResult.Unhealthy("The delivery store fails and OCP® does not take events: " + health.LastError)
                : HealthCheckResult.Degraded("The delivery store fails; events OCP® takes are forwarded, none can be parked: " + health.LastError);
        }
    }
}

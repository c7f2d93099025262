using Microsoft.Extensions.Diagnostics.HealthChecks;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Model;

namespace OcpTalkdesk.Gateway.Health;

/// <summary>
/// Reports YARP's own view of the OCP® destinations (its active and passive health checks, when a
/// cluster enables them). An OCP® outage makes readiness <em>degraded</em> (still 200), never
/// unready: every replica shares the same OCP®, so taking them out of rotation would only turn the
/// gateway's clear 502 answers into connection errors at the load balancer. Ready means "this
/// gateway can accept, check and forward events"; whether OCP® is up shows here and in the metrics.
/// </summary>
internal sealed class UpstreamDestinationsHealthCheck(IProxyStateLookup proxyState) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object>(StringComparer.Ordinal);
        var downClusters = 0;
        foreach (var cluster in proxyState.GetClusters())
        {
            var total = 0;
            var down = 0;
            foreach (var destination in cluster.Destinations.Values)
            {
                total++;
                if (destination.Health.Active == DestinationHealth.Unhealthy || destination.Health.Passive == DestinationHealth.Unhealthy)
                {
                    down++;
                }
            }

            data[cluster.ClusterId] = $"{total - down} of {total} destinations healthy";
            if (total == 0 || down == total)
            {
                downClusters++;
            }
        }

        return Task.FromResult(downClusters == 0
            ? HealthCheckResult.Healthy("Every cluster has a healthy destination", data)
            : HealthCheckResult.Degraded($"{downClusters} cluster(s) without a healthy destination (OCP® may be down)", data: data));
    }
}

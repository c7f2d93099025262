using Microsoft.Extensions.Diagnostics.HealthChecks;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Model;

namespace OcpTalkdesk.Gateway.Health;

/// <summary>
/// Reads YARP's own view of the OCP® destinations (its active and passive health checks, when a
/// cluster enables them): unhealthy when a cluster has no healthy destination left.
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
            : HealthCheckResult.Unhealthy($"{downClusters} cluster(s) without a healthy destination", data: data));
    }
}

using Microsoft.Extensions.Diagnostics.HealthChecks;
using OcpTalkdesk.Gateway.Health;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Model;

namespace OcpTalkdesk.Gateway.Tests.Health;

public sealed class UpstreamDestinationsHealthCheckTests
{
    private sealed class Lookup(params ClusterState[] clusters) : IProxyStateLookup
    {
        public bool TryGetRoute(string id, out RouteModel route) => throw new NotSupportedException();

        public IEnumerable<RouteModel> GetRoutes() => [];

        public bool TryGetCluster(string id, out ClusterState cluster) => throw new NotSupportedException();

        public IEnumerable<ClusterState> GetClusters() => clusters;
    }

    private static ClusterState Cluster(DestinationHealth health)
    {
        var cluster = new ClusterState("ocp");
        var destination = new DestinationState("primary");
        destination.Health.Active = health;
        cluster.Destinations.TryAdd("primary", destination);
        return cluster;
    }

    [Fact]
    public async Task Healthy_destinations_are_healthy()
    {
        var result = await new UpstreamDestinationsHealthCheck(new Lookup(Cluster(DestinationHealth.Healthy))).CheckHealthAsync(new HealthCheckContext());

        Assert.Equal(HealthStatus.Healthy, result.Status);
    }

    [Fact]
    public async Task An_ocp_outage_is_degraded_not_unready()
    {
        var result = await new UpstreamDestinationsHealthCheck(new Lookup(Cluster(DestinationHealth.Unhealthy))).CheckHealthAsync(new HealthCheckContext());

        Assert.Equal(HealthStatus.Degraded, result.Status);
        Assert.Equal("0 of 1 destinations healthy", result.Data["ocp"]);
    }
}

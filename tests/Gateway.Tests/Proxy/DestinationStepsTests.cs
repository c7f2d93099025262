using System.Net;
using OcpTalkdesk.Gateway.Tests.Integration;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace OcpTalkdesk.Gateway.Tests.Proxy;

/// <summary>
/// YARP's destination steps (session affinity, load balancing, passive health checks) run only for a cluster that
/// uses them: a cluster with two destinations and round robin still spreads the events over both.
/// </summary>
public sealed class DestinationStepsTests
{
    [Fact]
    public async Task A_cluster_with_two_destinations_is_load_balanced_by_its_policy()
    {
        using var second = WireMockServer.Start();
        second.Given(Request.Create().WithPath(GatewayHost.OcpPath).UsingPost()).RespondWith(Response.Create().WithStatusCode(200));
        using var host = GatewayHost.Create(new Dictionary<string, string?>
        {
            ["ReverseProxy:Clusters:ocp:Destinations:secondary:Address"] = second.Url + GatewayHost.OcpPath,
            ["ReverseProxy:Clusters:ocp:LoadBalancingPolicy"] = "RoundRobin",
        });
        host.Ocp.Given(Request.Create().WithPath(GatewayHost.OcpPath).UsingPost()).RespondWith(Response.Create().WithStatusCode(200));
        var client = host.CreateClient();

        for (var i = 0; i < 6; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await client.PostAsync(GatewayHost.EventsPath, Samples.Json(Samples.Bytes("message_created")))).StatusCode);
        }

        Assert.Equal(3, host.Ocp.LogEntries.Count);
        Assert.Equal(3, second.LogEntries.Count);
        second.Stop();
    }
}

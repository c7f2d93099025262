using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using OcpTalkdesk.Gateway.Tests.Integration;
using OcpTalkdesk.Gateway.Tokens;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace OcpTalkdesk.Gateway.Tests.Health;

public sealed class HealthEndpointTests
{
    [Fact]
    public async Task Liveness_and_readiness_answer_json_when_all_is_well()
    {
        using var host = new GatewayHost();
        var client = host.CreateClient();

        var live = await client.GetAsync("/healthz");
        var ready = await client.GetAsync("/readyz");

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        using var report = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
        Assert.Equal("Healthy", report.RootElement.GetProperty("status").GetString());
        var checks = report.RootElement.GetProperty("checks");
        Assert.Equal("Healthy", checks.GetProperty("schemas").GetProperty("status").GetString());
        Assert.Equal("Healthy", checks.GetProperty("tokens").GetProperty("status").GetString());
        Assert.Equal("Healthy", checks.GetProperty("upstreams").GetProperty("status").GetString());
    }

    [Fact]
    public async Task Readiness_fails_while_no_token_can_be_had_and_recovers_when_the_endpoint_returns()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var host = GatewayHost.Create(new Dictionary<string, string?>(), services: s => s.AddSingleton<TimeProvider>(time));
        host.TokenEndpoint.Reset();
        host.TokenEndpoint.Given(Request.Create().UsingPost()).RespondWith(Response.Create().WithStatusCode(503));
        var client = host.CreateClient();
        var cache = host.Services.GetRequiredService<TokenCache>();

        var down = await client.GetAsync("/readyz");
        host.IssueTokens("token-back-1");
        // The background retry is due one backoff step (1 s) after the last failure.
        time.Advance(TimeSpan.FromSeconds(1));
        if (cache.PendingRenewal("ocp") is { } renewal)
        {
            await renewal;
        }

        var up = await client.GetAsync("/readyz");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, down.StatusCode);
        Assert.Contains("no token: http_503", await down.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, up.StatusCode);
    }

    [Fact]
    public async Task An_OCP_outage_degrades_readiness_and_events_are_still_tried()
    {
        // The shipped cluster's passive health check (TransportFailureRate, HealthyOrPanic): OCP® refusing
        // connections marks its one destination down, and the gateway still sends to it (panic) rather than 503.
        using var host = GatewayHost.Create(new Dictionary<string, string?>(), ocpAddress: $"http://127.0.0.1:{Ports.Closed()}/ocp/events");
        var client = host.CreateClient();
        var before = await ReadinessAsync(client);

        var answers = new List<HttpStatusCode>();
        for (var i = 0; i < 12; i++)
        {
            answers.Add((await client.PostAsync(GatewayHost.EventsPath, Samples.Json(Samples.Bytes("message_created")))).StatusCode);
        }

        var degraded = await Delivery.Eventually.HoldsAsync(async () => await ReadinessAsync(client) == "Degraded");

        Assert.Equal("Healthy", before);
        Assert.All(answers, a => Assert.Equal(HttpStatusCode.BadGateway, a));
        Assert.True(degraded);
    }

    private static async Task<string?> ReadinessAsync(HttpClient client)
    {
        using var report = JsonDocument.Parse(await (await client.GetAsync("/readyz")).Content.ReadAsStringAsync());
        return report.RootElement.GetProperty("status").GetString();
    }

    [Fact]
    public async Task With_a_management_port_operator_endpoints_answer_only_on_connections_to_it_whatever_the_host_header_says()
    {
        using var host = GatewayHost.Create(new Dictionary<string, string?> { ["Gateway:ManagementPort"] = "9090" });

        var onEventPort = await MetricsAsync(host, localPort: 8080, hostHeader: "localhost:8080");
        var spoofedHost = await MetricsAsync(host, localPort: 8080, hostHeader: "localhost:9090");
        var onManagementPort = await MetricsAsync(host, localPort: 9090, hostHeader: "anything");

        Assert.Equal(StatusCodes.Status404NotFound, onEventPort);
        Assert.Equal(StatusCodes.Status404NotFound, spoofedHost);
        Assert.Equal(StatusCodes.Status200OK, onManagementPort);
    }

    private static async Task<int> MetricsAsync(GatewayHost host, int localPort, string hostHeader)
    {
        var context = await host.Server.SendAsync(c =>
        {
            c.Request.Method = "GET";
            c.Request.Path = "/metrics";
            c.Request.Host = new HostString(hostHeader);
            c.Connection.LocalPort = localPort;
        });
        return context.Response.StatusCode;
    }
}

using System.Net;
using System.Text.Json;
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
    public async Task With_a_management_port_operator_endpoints_answer_only_there()
    {
        using var host = GatewayHost.Create(new Dictionary<string, string?> { ["Gateway:ManagementPort"] = "9090" });
        var client = host.CreateClient();

        var onEventPort = await client.GetAsync("/metrics");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        request.Headers.Host = "localhost:9090";
        var onManagementPort = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotFound, onEventPort.StatusCode);
        Assert.Equal(HttpStatusCode.OK, onManagementPort.StatusCode);
    }
}

using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using OcpTalkdesk.Gateway.Tests.Integration;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace OcpTalkdesk.Gateway.Tests.InboundAuth;

public sealed class SecureDefaultsTests
{
    [Theory]
    [InlineData("")]
    [InlineData("anonymous")]
    public void A_talkdesk_route_without_inbound_auth_fails_start_up_outside_development(string policy)
    {
        using var host = GatewayHost.Create(new Dictionary<string, string?> { ["ReverseProxy:Routes:talkdesk-events:AuthorizationPolicy"] = policy });

        var error = Assert.ThrowsAny<Exception>(() => host.CreateClient());

        Assert.Contains("ReverseProxy:Routes:talkdesk-events:AuthorizationPolicy", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("Type None", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void An_api_key_method_without_keys_fails_start_up_naming_the_key()
    {
        using var host = GatewayHost.Create(new Dictionary<string, string?> { ["Gateway:InboundAuth:talkdesk:ApiKeys:0"] = null });

        var error = Assert.ThrowsAny<Exception>(() => host.CreateClient());

        Assert.Contains("Gateway:InboundAuth:talkdesk:ApiKeys must list at least one key", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stated_none_accepts_anyone_and_warns_at_start_up()
    {
        using var host = GatewayHost.Create(
            new Dictionary<string, string?>
            {
                ["Gateway:InboundAuth:open:Type"] = "None",
                ["ReverseProxy:Routes:talkdesk-events:AuthorizationPolicy"] = "open",
            },
            services: s => s.AddLogging(l => l.AddFakeLogging()));
        host.Ocp.Given(Request.Create().UsingPost()).RespondWith(Response.Create().WithStatusCode(200));

        var response = await host.CreateAnonymousClient().PostAsync(GatewayHost.EventsPath, Samples.Json(Samples.Bytes("conversation_ended")));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var logs = host.Services.GetRequiredService<FakeLogCollector>().GetSnapshot();
        Assert.Contains(logs, r => r.Level == LogLevel.Warning && r.Message.Contains("method open is None", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("203.0.113.7", null, HttpStatusCode.OK)]
    [InlineData("198.51.100.9", null, HttpStatusCode.Forbidden)]
    [InlineData("10.0.0.5", "203.0.113.7", HttpStatusCode.OK)]
    [InlineData("198.51.100.9", "203.0.113.7", HttpStatusCode.Forbidden)]
    public async Task Source_allow_list_honours_forwarded_for_only_from_trusted_proxies(string peer, string? forwardedFor, HttpStatusCode expected)
    {
        using var host = GatewayHost.Create(new Dictionary<string, string?>
        {
            ["Gateway:InboundAuth:talkdesk:AllowedNetworks:0"] = "203.0.113.0/24",
            ["Gateway:TrustedProxies:0"] = "10.0.0.0/8",
        });
        host.Ocp.Given(Request.Create().UsingPost()).RespondWith(Response.Create().WithStatusCode(200));
        var body = Samples.Bytes("conversation_ended");

        var context = await host.Server.SendAsync(c =>
        {
            c.Connection.RemoteIpAddress = IPAddress.Parse(peer);
            c.Request.Method = "POST";
            c.Request.Path = GatewayHost.EventsPath;
            c.Request.ContentType = "application/json";
            c.Request.Headers[GatewayHost.ApiKeyHeader] = GatewayHost.ApiKey;
            if (forwardedFor is not null)
            {
                c.Request.Headers["X-Forwarded-For"] = forwardedFor;
            }

            c.Request.Body = new MemoryStream(body);
            c.Request.ContentLength = body.Length;
        });

        Assert.Equal((int)expected, context.Response.StatusCode);
        Assert.Equal(expected == HttpStatusCode.OK ? 1 : 0, host.Ocp.LogEntries.Count);
    }
}

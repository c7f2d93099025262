using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using OcpTalkdesk.Gateway.Tests.Integration;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace OcpTalkdesk.Gateway.Tests.Tokens;

public sealed class SecretsInLogsTests
{
    private const string InboundCredentials = "dGFsa2Rlc2s6aW5ib3VuZC1wYXNzd29yZA==";

    [Fact]
    public async Task Client_secret_tokens_and_inbound_credentials_never_reach_the_logs()
    {
        var everything = new Dictionary<string, string?>
        {
            ["Logging:LogLevel:Default"] = "Trace",
            ["Logging:LogLevel:Microsoft"] = "Trace",
            ["Logging:LogLevel:Microsoft.AspNetCore"] = "Trace",
            ["Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics"] = "Trace",
            ["Logging:LogLevel:Yarp"] = "Trace",
            ["Logging:LogLevel:System.Net.Http.HttpClient"] = "Trace",
        };
        using var host = GatewayHost.Create(everything, services: s => s.AddLogging(l => l.AddFakeLogging()));
        host.Ocp.Given(Request.Create().UsingPost().WithHeader("Authorization", "Bearer " + GatewayHost.FirstToken))
            .RespondWith(Response.Create().WithStatusCode(401));
        host.Ocp.Given(Request.Create().UsingPost().WithHeader("Authorization", "Bearer token-Second-2"))
            .RespondWith(Response.Create().WithStatusCode(200));
        var client = host.CreateClient();

        // A 401 and a renewal, then the token endpoint failing with an error, then a rejected event.
        var first = await SendAsync(client);
        host.IssueTokens("token-Second-2");
        var renewed = await SendAsync(client);
        host.TokenEndpoint.Reset();
        await client.PostAsync(GatewayHost.EventsPath, Samples.Json("{\"event_type\":\"nope\"}"));

        Assert.Equal(HttpStatusCode.Unauthorized, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, renewed.StatusCode);
        var records = host.Services.GetRequiredService<FakeLogCollector>().GetSnapshot();
        // The logs did see the token flow and the inbound request; they just carry none of the values.
        Assert.Contains(records, r => r.Message.Contains("renewing and resending once", StringComparison.Ordinal));
        Assert.Contains(records, r => r.Message.Contains("Request starting", StringComparison.Ordinal));
        foreach (var record in records)
        {
            var text = $"{record.Message} {record.StructuredState?.Aggregate("", (a, kv) => a + kv.Key + "=" + kv.Value + ";")} {record.Exception}";
            Assert.DoesNotContain(GatewayHost.ClientSecret, text, StringComparison.Ordinal);
            Assert.DoesNotContain(GatewayHost.FirstToken, text, StringComparison.Ordinal);
            Assert.DoesNotContain("token-Second-2", text, StringComparison.Ordinal);
            Assert.DoesNotContain(InboundCredentials, text, StringComparison.Ordinal);
            Assert.DoesNotContain(GatewayHost.ApiKey, text, StringComparison.Ordinal);
        }
    }

    private static Task<HttpResponseMessage> SendAsync(HttpClient client)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, GatewayHost.EventsPath) { Content = Samples.Json(Samples.Bytes("message_created")) };
        request.Headers.Authorization = new("Basic", InboundCredentials);
        return client.SendAsync(request);
    }
}

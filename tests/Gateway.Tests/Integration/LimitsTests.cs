using System.Net;
using System.Text;
using System.Text.Json;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace OcpTalkdesk.Gateway.Tests.Integration;

public sealed class LimitsTests
{
    private static readonly Dictionary<string, string?> SmallCap = new() { ["Gateway:MaxEventBytes"] = "1024" };

    [Fact]
    public async Task Body_over_the_cap_gets_413_and_is_never_forwarded()
    {
        using var host = GatewayHost.Create(SmallCap);
        host.Ocp.Given(Request.Create().UsingAnyMethod()).RespondWith(Response.Create().WithStatusCode(200));

        var response = await host.CreateClient().PostAsync(GatewayHost.EventsPath, Samples.Json(EventOfSize(2048)));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("urn:ocp-gateway:problem:body-too-large", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty(host.Ocp.LogEntries);
    }

    [Fact]
    public async Task Chunked_body_over_the_cap_gets_413()
    {
        using var host = GatewayHost.Create(SmallCap);
        using var content = new StreamContent(new MemoryStream(EventOfSize(4096)));
        content.Headers.ContentType = new("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, GatewayHost.EventsPath) { Content = content };
        request.Headers.TransferEncodingChunked = true;

        var response = await host.CreateClient().SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Empty(host.Ocp.LogEntries);
    }

    [Fact]
    public async Task Body_exactly_at_the_cap_is_forwarded()
    {
        using var host = GatewayHost.Create(SmallCap);
        host.Ocp.Given(Request.Create().UsingAnyMethod()).RespondWith(Response.Create().WithStatusCode(200));
        var body = EventOfSize(1024);

        var response = await host.CreateClient().PostAsync(GatewayHost.EventsPath, Samples.Json(body));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(body, Assert.Single(host.Ocp.LogEntries).RequestMessage.BodyAsBytes);
    }

    [Fact]
    public async Task Upstream_down_gets_502_problem()
    {
        using var host = GatewayHost.Create(new Dictionary<string, string?>(), $"http://127.0.0.1:{Ports.Closed()}/");

        var response = await host.CreateClient().PostAsync(GatewayHost.EventsPath, Samples.Json(Samples.Bytes("conversation_ended")));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("urn:ocp-gateway:problem:upstream-unavailable", problem.RootElement.GetProperty("type").GetString());
        Assert.Equal(502, problem.RootElement.GetProperty("status").GetInt32());
    }

    /// <summary>A valid conversation_ended event padded through its timestamp to exactly <paramref name="size"/> bytes.</summary>
    private static byte[] EventOfSize(int size)
    {
        const string Head = "{\"event_type\":\"conversation_ended\",\"conversation_id\":\"c-1\",\"timestamp\":\"";
        const string Tail = "\"}";
        var body = Head + new string('x', size - Head.Length - Tail.Length) + Tail;
        return Encoding.UTF8.GetBytes(body);
    }
}

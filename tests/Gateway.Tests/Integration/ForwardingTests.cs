using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace OcpTalkdesk.Gateway.Tests.Integration;

public sealed class ForwardingTests : IClassFixture<GatewayHost>
{
    private readonly GatewayHost _host;

    public ForwardingTests(GatewayHost host)
    {
        _host = host;
        _host.Ocp.Reset();
        _host.Ocp.Given(Request.Create().WithPath(GatewayHost.OcpPath).UsingPost())
            .RespondWith(Response.Create().WithStatusCode(202)
                .WithHeader("Content-Type", "application/json")
                .WithHeader("X-Ocp-Request-Id", "ocp-42")
                .WithBody("{\"queued\":true}"));
    }

    public static TheoryData<string> SampleNames => [.. Samples.Names];

    [Theory]
    [MemberData(nameof(SampleNames))]
    public async Task Each_sample_event_is_forwarded_byte_for_byte_and_the_upstream_answer_comes_back(string sample)
    {
        var body = Samples.Bytes(sample);

        var response = await _host.CreateClient().PostAsync(GatewayHost.EventsPath, Samples.Json(body));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("ocp-42", Assert.Single(response.Headers.GetValues("X-Ocp-Request-Id")));
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("{\"queued\":true}", await response.Content.ReadAsStringAsync());
        var received = Assert.Single(_host.Ocp.LogEntries);
        Assert.Equal(body, received.RequestMessage.BodyAsBytes);
    }

    [Fact]
    public async Task Compact_and_reordered_bodies_are_forwarded_unchanged()
    {
        var pretty = JsonNode.Parse(Samples.Bytes("message_created"))!.AsObject();
        var reordered = new JsonObject();
        foreach (var name in new[] { "payload", "timestamp", "conversation_id", "event_type" })
        {
            reordered[name] = pretty[name]!.DeepClone();
        }

        var compact = Encoding.UTF8.GetBytes(reordered.ToJsonString());

        var response = await _host.CreateClient().PostAsync(GatewayHost.EventsPath, Samples.Json(compact));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(compact, Assert.Single(_host.Ocp.LogEntries).RequestMessage.BodyAsBytes);
    }

    [Fact]
    public async Task Content_type_with_utf8_charset_is_accepted()
    {
        var body = Samples.Bytes("conversation_ended");

        var response = await _host.CreateClient().PostAsync(GatewayHost.EventsPath, Samples.Json(body, "application/json; charset=utf-8"));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Single(_host.Ocp.LogEntries);
    }

    [Fact]
    public async Task Upstream_error_answers_pass_back_unchanged()
    {
        _host.Ocp.Reset();
        _host.Ocp.Given(Request.Create().WithPath(GatewayHost.OcpPath).UsingPost())
            .RespondWith(Response.Create().WithStatusCode(409)
                .WithHeader("Content-Type", "text/plain")
                .WithBody("conversation already closed"));

        var response = await _host.CreateClient().PostAsync(GatewayHost.EventsPath, Samples.Json(Samples.Bytes("conversation_ended")));

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("conversation already closed", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task An_empty_upstream_error_passes_back_empty_while_the_gateway_s_own_404_is_problem_json()
    {
        _host.Ocp.Reset();
        _host.Ocp.Given(Request.Create().WithPath(GatewayHost.OcpPath).UsingPost()).RespondWith(Response.Create().WithStatusCode(404));
        var client = _host.CreateClient();

        var proxied = await client.PostAsync(GatewayHost.EventsPath, Samples.Json(Samples.Bytes("conversation_ended")));
        var own = await client.GetAsync("/no-such-endpoint");

        // Status-code pages are not on the event routes: OCP®'s empty 404 reaches Talkdesk as it was sent.
        Assert.Equal(HttpStatusCode.NotFound, proxied.StatusCode);
        Assert.Empty(await proxied.Content.ReadAsByteArrayAsync());
        Assert.NotEqual("application/problem+json", proxied.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.NotFound, own.StatusCode);
        Assert.Equal("application/problem+json", own.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Chunked_body_is_forwarded_with_its_length()
    {
        var body = Samples.Bytes("conversation_started");
        using var content = new StreamContent(new MemoryStream(body));
        content.Headers.ContentType = new("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, GatewayHost.EventsPath) { Content = content };
        request.Headers.TransferEncodingChunked = true;

        var response = await _host.CreateClient().SendAsync(request);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var received = Assert.Single(_host.Ocp.LogEntries).RequestMessage;
        Assert.Equal(body, received.BodyAsBytes);
        Assert.Equal(body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), Assert.Single(received.Headers!["Content-Length"]));
    }
}

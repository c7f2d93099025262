using System.Net;
using System.Text.Json;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace OcpTalkdesk.Gateway.Tests.Integration;

public sealed class RejectionTests : IClassFixture<GatewayHost>
{
    private const string ProblemJson = "application/problem+json";
    private readonly GatewayHost _host;

    public RejectionTests(GatewayHost host)
    {
        _host = host;
        _host.Ocp.Reset();
        _host.Ocp.Given(Request.Create().UsingAnyMethod()).RespondWith(Response.Create().WithStatusCode(200));
    }

    public static TheoryData<string, string> MalformedBodies => new()
    {
        { "", "empty" },
        { "  \n\t ", "empty" },
        { "not json", "not valid JSON" },
        { "[1,2,3]", "one JSON object" },
        { "\"message_created\"", "one JSON object" },
        { "{\"event_type\":\"conversation_ended\",}", "not valid JSON" },
        { "{\"event_type\":\"conversation_ended\"} {}", "not valid JSON" },
        { "{/* comment */\"event_type\":\"conversation_ended\"}", "not valid JSON" },
        { "{'event_type':'conversation_ended'}", "not valid JSON" },
        { "{\"event_type\":\"conversation_ended\",\"event_type\":\"message_created\"}", "duplicate member name" },
        { "\uFEFF{\"event_type\":\"conversation_ended\"}", "not valid JSON" },
        { new string('[', 10_000), "one JSON object" },
        { "{\"a\":" + new string('[', 10_000), "not valid JSON" },
    };

    [Theory]
    [MemberData(nameof(MalformedBodies))]
    public async Task Malformed_body_gets_400_and_is_never_forwarded(string body, string expectedDetail)
    {
        var problem = await PostExpectingProblemAsync(Samples.Json(body), HttpStatusCode.BadRequest);

        Assert.Equal("urn:ocp-gateway:problem:malformed-body", problem.GetProperty("type").GetString());
        Assert.Contains(expectedDetail, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Empty(_host.Ocp.LogEntries);
    }

    [Fact]
    public async Task Invalid_utf8_gets_400_and_is_never_forwarded()
    {
        byte[] body = [.. "{\"event_type\":\"conversation_ended\",\"conversation_id\":\""u8, 0xC3, 0x28, .. "\"}"u8];

        var problem = await PostExpectingProblemAsync(Samples.Json(body), HttpStatusCode.BadRequest);

        Assert.Contains("UTF-8", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Empty(_host.Ocp.LogEntries);
    }

    [Theory]
    [InlineData("{\"conversation_id\":\"c\"}", "has no 'event_type'")]
    [InlineData("{\"event_type\":42}", "must be a string")]
    [InlineData("{\"event_type\":\"agent_joined\"}", "not one this gateway accepts")]
    public async Task Missing_or_unknown_event_type_gets_400_naming_the_accepted_values(string body, string expectedDetail)
    {
        var problem = await PostExpectingProblemAsync(Samples.Json(body), HttpStatusCode.BadRequest);

        Assert.Equal("urn:ocp-gateway:problem:unknown-event-type", problem.GetProperty("type").GetString());
        var detail = problem.GetProperty("detail").GetString();
        Assert.Contains(expectedDetail, detail, StringComparison.Ordinal);
        Assert.Contains("conversation_started, message_created", detail, StringComparison.Ordinal);
        var accepted = problem.GetProperty("acceptedEventTypes").EnumerateArray().Select(e => e.GetString()!).ToArray();
        Assert.Equal(new[] { "conversation_ended", "conversation_started", "message_created" }, accepted);
        Assert.Empty(_host.Ocp.LogEntries);
    }

    [Fact]
    public async Task Invalid_message_created_is_rejected_with_every_violation_and_never_forwarded()
    {
        const string body = """
            {
              "event_type": "message_created",
              "conversation_id": 7,
              "payload": {
                "id": "m-1",
                "created_at": "2026-11-24T10:00:00Z",
                "author": { "name": "Ana", "role": "contact" },
                "attachments": [ { "id": "a", "name": "n", "type": "t", "size": "big" } ]
              }
            }
            """;

        var problem = await PostExpectingProblemAsync(Samples.Json(body), HttpStatusCode.BadRequest);

        Assert.Equal("urn:ocp-gateway:problem:schema-violation", problem.GetProperty("type").GetString());
        var errors = problem.GetProperty("errors").EnumerateArray()
            .Select(e => (e.GetProperty("pointer").GetString(), e.GetProperty("keyword").GetString()))
            .ToHashSet();
        Assert.Equal(
            new HashSet<(string?, string?)>
            {
                ("/conversation_id", "type"),
                ("/timestamp", "required"),
                ("/payload/author/type", "required"),
                ("/payload/author/role", "additionalProperties"),
                ("/payload/attachments/0/size", "type"),
            },
            errors);
        Assert.All(problem.GetProperty("errors").EnumerateArray(),
            e => Assert.False(string.IsNullOrWhiteSpace(e.GetProperty("message").GetString())));
        Assert.Empty(_host.Ocp.LogEntries);
    }

    [Fact]
    public async Task Conversation_started_with_unexpected_member_is_rejected()
    {
        const string body = """
            {"event_type":"conversation_started","conversation_id":"c","timestamp":"t",
             "payload":{"contact_person":{"email":"a@b"},"user":{"name":"n"},"touchpoint":{"id":"t"},"subject":null,"x":1}}
            """;

        var problem = await PostExpectingProblemAsync(Samples.Json(body), HttpStatusCode.BadRequest);

        var error = Assert.Single(problem.GetProperty("errors").EnumerateArray());
        Assert.Equal("/payload/x", error.GetProperty("pointer").GetString());
        Assert.Equal("additionalProperties", error.GetProperty("keyword").GetString());
        Assert.Empty(_host.Ocp.LogEntries);
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/xml")]
    [InlineData("application/json; charset=iso-8859-1")]
    [InlineData("application/x-www-form-urlencoded")]
    public async Task Non_json_content_type_gets_415(string contentType)
    {
        var problem = await PostExpectingProblemAsync(Samples.Json(Samples.Bytes("conversation_ended"), contentType), HttpStatusCode.UnsupportedMediaType);

        Assert.Equal("urn:ocp-gateway:problem:unsupported-media-type", problem.GetProperty("type").GetString());
        Assert.Empty(_host.Ocp.LogEntries);
    }

    [Fact]
    public async Task Missing_content_type_gets_415()
    {
        var content = new ByteArrayContent(Samples.Bytes("conversation_ended"));

        await PostExpectingProblemAsync(content, HttpStatusCode.UnsupportedMediaType);

        Assert.Empty(_host.Ocp.LogEntries);
    }

    [Fact]
    public async Task Problem_carries_the_callers_trace_id_and_no_stack_trace()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, GatewayHost.EventsPath) { Content = Samples.Json("[]") };
        request.Headers.Add("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");

        var response = await _host.CreateClient().SendAsync(request);

        var text = await response.Content.ReadAsStringAsync();
        Assert.True(text.Contains("4bf92f3577b34da6a3ce929d0e0e4736", StringComparison.Ordinal), text);
        Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
    }

    private async Task<JsonElement> PostExpectingProblemAsync(HttpContent content, HttpStatusCode expected)
    {
        var response = await _host.CreateClient().PostAsync(GatewayHost.EventsPath, content);

        Assert.Equal(expected, response.StatusCode);
        Assert.Equal(ProblemJson, response.Content.Headers.ContentType?.MediaType);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStreamAsync());
        var problem = document.RootElement.Clone();
        Assert.Equal((int)expected, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("traceId").GetString()));
        return problem;
    }
}

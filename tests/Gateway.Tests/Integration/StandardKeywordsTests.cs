using System.Net;
using System.Text.Json;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace OcpTalkdesk.Gateway.Tests.Integration;

/// <summary>
/// An event type added by configuration whose schema uses the draft-07 keywords NJsonSchema got wrong
/// (boolean subschemas, $ref, const, not, dependencies, if/then/else, contains, propertyNames, …),
/// sent through the gateway over HTTP: forwarded exactly when the standard says the event is valid.
/// </summary>
public sealed class StandardKeywordsTests : IDisposable
{
    private const string Schema = """
        {
          "$schema": "http://json-schema.org/draft-07/schema#",
          "definitions": { "id": { "type": "string", "pattern": "^[a-z0-9-]+$", "minLength": 3, "maxLength": 40 } },
          "type": "object",
          "required": ["event_type", "conversation_id", "agent"],
          "propertyNames": { "pattern": "^[a-z_]+$" },
          "properties": {
            "event_type": { "const": "agent_joined" },
            "conversation_id": { "$ref": "#/definitions/id" },
            "internal": false,
            "agent": {
              "type": "object",
              "properties": {
                "role": { "enum": ["human", "bot"] },
                "skills": { "type": "array", "contains": { "const": "chat" }, "uniqueItems": true, "maxItems": 5 },
                "level": { "type": "integer", "minimum": 1, "exclusiveMaximum": 10, "multipleOf": 1 }
              },
              "if": { "properties": { "role": { "const": "bot" } } },
              "then": { "required": ["model"] },
              "else": { "required": ["name"] },
              "dependencies": { "name": ["role"], "model": { "not": { "required": ["name"] } } },
              "minProperties": 1,
              "maxProperties": 6,
              "additionalProperties": { "type": ["string", "integer", "array"] }
            },
            "tags": { "type": "array", "items": [{ "type": "string" }], "additionalItems": false },
            "priority": { "oneOf": [{ "type": "integer" }, { "type": "string", "format": "date-time" }], "anyOf": [{ "minimum": 0 }, { "type": "string" }], "allOf": [{}] }
          }
        }
        """;

    private readonly string _folder = Directory.CreateTempSubdirectory("gateway-keywords-").FullName;
    private readonly GatewayHost _host;

    public StandardKeywordsTests()
    {
        var file = Path.Combine(_folder, "agent_joined.schema.json");
        File.WriteAllText(file, Schema);
        _host = GatewayHost.Create(new Dictionary<string, string?> { ["Gateway:EventTypes:agent_joined:Schema"] = file });
        _host.Ocp.Given(Request.Create().UsingPost()).RespondWith(Response.Create().WithStatusCode(200));
    }

    public void Dispose()
    {
        _host.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    public static TheoryData<string, bool> Events => new()
    {
        { """{"event_type":"agent_joined","conversation_id":"abc-1","agent":{"role":"human","name":"Ana"}}""", true },
        { """{"event_type":"agent_joined","conversation_id":"abc-1","agent":{"role":"bot","model":"m1","skills":["chat","mail"],"level":3},"tags":["x"],"priority":2}""", true },
        { """{"event_type":"agent_joined","conversation_id":"abc-1","agent":{"role":"bot","name":"B"}}""", false },
        { """{"event_type":"agent_joined","conversation_id":"abc-1","agent":{"name":"Ana"}}""", false },
        { """{"event_type":"agent_joined","conversation_id":"abc-1","agent":{"role":"human","name":"A","skills":["mail"]}}""", false },
        { """{"event_type":"agent_joined","conversation_id":"abc-1","agent":{"role":"human","name":"A","level":10}}""", false },
        { """{"event_type":"agent_joined","conversation_id":"abc-1","agent":{"role":"human","name":"A"},"internal":true}""", false },
        { """{"event_type":"agent_joined","conversation_id":"AB","agent":{"role":"human","name":"A"}}""", false },
        { """{"event_type":"agent_joined","conversation_id":"abc-1","agent":{"role":"human","name":"A"},"Extra":1}""", false },
        { """{"event_type":"agent_joined","conversation_id":"abc-1","agent":{"role":"human","name":"A"},"tags":["x","y"]}""", false },
        { """{"event_type":"agent_joined","conversation_id":"abc-1","agent":{"role":"human","name":"A"},"priority":"x"}""", true },
        { """{"event_type":"agent_joined","conversation_id":"abc-1","agent":{"role":"human","name":"A"},"priority":-1}""", false },
        { """{"event_type":"agent_joined","conversation_id":"abc-1","agent":{"role":"human","name":"A","note":{"a":1}}}""", false },
    };

    [Theory]
    [MemberData(nameof(Events))]
    public async Task An_event_is_forwarded_exactly_when_the_standard_says_it_is_valid(string body, bool valid)
    {
        var response = await _host.CreateClient().PostAsync(GatewayHost.EventsPath, Samples.Json(body));

        if (valid)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(body, Assert.Single(_host.Ocp.LogEntries).RequestMessage.Body);
        }
        else
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal("urn:ocp-gateway:problem:schema-violation", problem.RootElement.GetProperty("type").GetString());
            Assert.NotEmpty(problem.RootElement.GetProperty("errors").EnumerateArray());
            Assert.Empty(_host.Ocp.LogEntries);
        }
    }

    [Fact]
    public async Task The_if_branch_that_was_not_taken_is_never_reported()
    {
        var body = """{"event_type":"agent_joined","conversation_id":"abc-1","agent":{"name":"Ana","level":0}}""";

        var response = await _host.CreateClient().PostAsync(GatewayHost.EventsPath, Samples.Json(body));

        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var errors = problem.RootElement.GetProperty("errors").EnumerateArray()
            .Select(e => (e.GetProperty("pointer").GetString(), e.GetProperty("keyword").GetString())).ToList();
        Assert.Contains(("/agent/level", "minimum"), errors);
        // No role: "if" holds (its properties are vacuous), so "then" requires a model; "name" needs "role".
        Assert.Contains(("/agent/model", "required"), errors);
        Assert.Contains(("/agent", "dependencies"), errors);
        Assert.DoesNotContain(errors, e => e.Item2 is "const" or "else");
    }

    [Fact]
    public async Task Violations_past_fifty_are_counted_not_listed()
    {
        var tags = string.Join(",", Enumerable.Range(0, 80).Select(i => "1"));
        var file = Path.Combine(_folder, "many.schema.json");
        await File.WriteAllTextAsync(file, """{"type":"object","properties":{"list":{"type":"array","items":{"type":"string"}}}}""");
        using var host = GatewayHost.Create(new Dictionary<string, string?> { ["Gateway:EventTypes:many:Schema"] = file });

        var response = await host.CreateClient().PostAsync(GatewayHost.EventsPath, Samples.Json($$"""{"event_type":"many","list":[{{tags}}]}"""));

        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(50, problem.RootElement.GetProperty("errors").GetArrayLength());
        Assert.Equal(30, problem.RootElement.GetProperty("omittedErrors").GetInt32());
        Assert.Contains("80 place(s)", problem.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }
}

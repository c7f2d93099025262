using System.Net;
using OcpTalkdesk.Gateway.Tests.Integration;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace OcpTalkdesk.Gateway.Tests.Configuration;

public sealed class StartupTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("gateway-schemas-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Missing_schema_file_fails_start_up_naming_the_key_and_file()
    {
        var missing = Path.Combine(_folder, "nowhere.schema.json");
        using var host = GatewayHost.Create(new Dictionary<string, string?> { ["Gateway:EventTypes:message_created:Schema"] = missing });

        var error = Assert.ThrowsAny<Exception>(() => host.CreateClient());

        Assert.Contains("Gateway:EventTypes:message_created:Schema", error.ToString(), StringComparison.Ordinal);
        Assert.Contains(missing, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Broken_schema_file_fails_start_up_naming_the_file()
    {
        var broken = Path.Combine(_folder, "broken.schema.json");
        File.WriteAllText(broken, "{ \"type\": ");
        using var host = GatewayHost.Create(new Dictionary<string, string?> { ["Gateway:EventTypes:message_created:Schema"] = broken });

        var error = Assert.ThrowsAny<Exception>(() => host.CreateClient());

        Assert.Contains(broken, error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Gateway:MaxEventBytes", "12")]
    [InlineData("Gateway:EventTypes:message_created:UpstreamPath", "no-slash")]
    public void Bad_gateway_setting_fails_start_up_naming_the_key(string key, string value)
    {
        using var host = GatewayHost.Create(new Dictionary<string, string?> { [key] = value });

        var error = Assert.ThrowsAny<Exception>(() => host.CreateClient());

        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_fourth_event_type_is_accepted_by_configuration_alone()
    {
        var schema = Path.Combine(_folder, "agent_joined.schema.json");
        File.WriteAllText(schema, """
            {
              "$schema": "http://json-schema.org/draft-07/schema#",
              "type": "object",
              "required": ["event_type", "conversation_id", "agent"],
              "properties": {
                "event_type": { "type": "string" },
                "conversation_id": { "type": "string" },
                "agent": { "type": "string" }
              },
              "additionalProperties": false
            }
            """);
        using var host = GatewayHost.Create(new Dictionary<string, string?> { ["Gateway:EventTypes:agent_joined:Schema"] = schema });
        host.Ocp.Given(Request.Create().WithPath(GatewayHost.OcpPath).UsingPost()).RespondWith(Response.Create().WithStatusCode(200));
        var client = host.CreateClient();

        var accepted = await client.PostAsync(GatewayHost.EventsPath, Samples.Json("{\"event_type\":\"agent_joined\",\"conversation_id\":\"c\",\"agent\":\"Rui\"}"));
        var rejected = await client.PostAsync(GatewayHost.EventsPath, Samples.Json("{\"event_type\":\"agent_joined\",\"conversation_id\":\"c\"}"));
        var original = await client.PostAsync(GatewayHost.EventsPath, Samples.Json(Samples.Bytes("conversation_ended")));

        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, rejected.StatusCode);
        Assert.Equal(HttpStatusCode.OK, original.StatusCode);
        Assert.Equal(2, host.Ocp.LogEntries.Count);
    }

    [Fact]
    public async Task An_event_type_can_be_sent_to_its_own_upstream_path()
    {
        using var host = GatewayHost.Create(new Dictionary<string, string?> { ["Gateway:EventTypes:conversation_ended:UpstreamPath"] = "/ended" });
        host.Ocp.Given(Request.Create().UsingPost()).RespondWith(Response.Create().WithStatusCode(200));
        var client = host.CreateClient();

        await client.PostAsync(GatewayHost.EventsPath, Samples.Json(Samples.Bytes("conversation_ended")));
        await client.PostAsync(GatewayHost.EventsPath, Samples.Json(Samples.Bytes("message_created")));

        var paths = host.Ocp.LogEntries.Select(e => e.RequestMessage.Path).ToArray();
        Assert.Equal([GatewayHost.OcpPath + "/ended", GatewayHost.OcpPath], paths);
    }
}

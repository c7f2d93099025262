using System.Net;
using OcpTalkdesk.Gateway.Tests.Integration;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace OcpTalkdesk.Gateway.Tests.Configuration;

public sealed class SecretsTests : IDisposable
{
    private readonly string _secrets = Directory.CreateTempSubdirectory("gateway-secrets-").FullName;

    public void Dispose() => Directory.Delete(_secrets, recursive: true);

    [Fact]
    public async Task Client_secret_can_come_from_a_mounted_file()
    {
        File.WriteAllText(Path.Combine(_secrets, "Gateway__TokenClients__ocp__ClientSecret"), "from-a-file");
        using var host = GatewayHost.Create(new Dictionary<string, string?>
        {
            ["SecretsDirectory"] = _secrets,
            ["Gateway:TokenClients:ocp:ClientSecret"] = null,
            ["Gateway:TokenClients:ocp:ClientAuthentication"] = "client_secret_post",
        });
        host.Ocp.Given(Request.Create().UsingPost()).RespondWith(Response.Create().WithStatusCode(200));

        var response = await host.CreateClient().PostAsync(GatewayHost.EventsPath, Samples.Json(Samples.Bytes("conversation_ended")));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("client_secret=from-a-file", host.TokenEndpoint.LogEntries[0].RequestMessage.Body, StringComparison.Ordinal);
    }
}

using OcpTalkdesk.Gateway.Tests.Commands;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace OcpTalkdesk.Gateway.Tests.Integration;

/// <summary>
/// The real gateway process (Production, the shipped appsettings) in front of WireMock.Net stand-ins for
/// OCP® (answers 200) and the token endpoint, for raw-socket probes of its trust boundaries.
/// </summary>
public sealed class EdgeGateway : IAsyncDisposable
{
    public const string ApiKey = "an-inbound-key-of-the-edge-test-01";
    public const string Token = "edge-token-1";

    private readonly RunningGateway _gateway;

    private EdgeGateway(WireMockServer ocp, WireMockServer tokens, RunningGateway gateway)
    {
        Ocp = ocp;
        Tokens = tokens;
        _gateway = gateway;
    }

    public WireMockServer Ocp { get; }

    public WireMockServer Tokens { get; }

    public int EventPort => _gateway.EventPort;

    public int ManagementPort => _gateway.ManagementPort;

    /// <summary>What the process wrote so far.</summary>
    public string Output => _gateway.Output;

    public static async Task<EdgeGateway> StartAsync(IReadOnlyDictionary<string, string>? settings = null)
    {
        var ocp = WireMockServer.Start();
        ocp.Given(Request.Create().UsingPost()).RespondWith(Response.Create().WithStatusCode(200).WithBody("{\"ok\":true}"));
        var tokens = WireMockServer.Start();
        tokens.Given(Request.Create().UsingPost()).RespondWith(Response.Create().WithHeader("Content-Type", "application/json")
            .WithBody($$"""{"access_token":"{{Token}}","token_type":"Bearer","expires_in":3600}"""));
        var environment = GatewayProcess.Complete();
        environment["ReverseProxy__Clusters__ocp__Destinations__primary__Address"] = ocp.Url + "/ocp/events";
        environment["Gateway__TokenClients__ocp__TokenEndpoint"] = tokens.Url + "/token";
        environment["Gateway__InboundAuth__talkdesk__ApiKeys__0"] = ApiKey;
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }

        try
        {
            return new EdgeGateway(ocp, tokens, await RunningGateway.StartAsync(environment));
        }
        catch
        {
            ocp.Dispose();
            tokens.Dispose();
            throw;
        }
    }

    /// <summary>A complete POST of <paramref name="body"/> to the event route with the given extra header lines.</summary>
    public static string Post(string body, string extraHeaders = "", string target = "/talkdesk/events", string host = "gateway") =>
        $"POST {target} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {System.Text.Encoding.UTF8.GetByteCount(body)}\r\n"
        + extraHeaders + "\r\n" + body;

    /// <summary>A valid message_created event (the shipped sample).</summary>
    public static string Sample() => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "samples", "message_created.json"));

    public async ValueTask DisposeAsync()
    {
        await _gateway.DisposeAsync();
        Ocp.Dispose();
        Tokens.Dispose();
    }
}

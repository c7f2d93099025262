using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace OcpTalkdesk.Gateway.Tests.Integration;

/// <summary>
/// The real gateway in-process (its own Program, appsettings and pipeline) in front of a WireMock.Net
/// stand-in for OCP®. Each test class owns one; tests reset the upstream and arrange their own mappings.
/// </summary>
public sealed class GatewayHost : IDisposable
{
    public const string EventsPath = "/talkdesk/events";
    public const string OcpPath = "/ocp/events";
    public const string TokenPath = "/connect/token";
    public const string ClientId = "gateway-client";
    public const string ClientSecret = "s3cr3t-Value-never-logged";
    public const string FirstToken = "token-AAA-1";
    public const string ApiKeyHeader = "X-API-Key";
    public const string ApiKey = "test-inbound-key-0001";
    public const string EncryptionKeyId = "test-key-1";
    public const string EncryptionKey = "zchNVqY1rGEwTU5yRv2gc4f3Wy0yE7J7lWTtCi83Czs=";

    private readonly WebApplicationFactory<Program> _factory;

    public GatewayHost() : this(new Dictionary<string, string?>(), null)
    {
    }

    private GatewayHost(IReadOnlyDictionary<string, string?> settings, string? ocpAddress, Action<IServiceCollection>? services = null, bool kestrel = false)
    {
        Ocp = WireMockServer.Start();
        TokenEndpoint = WireMockServer.Start();
        IssueTokens(FirstToken);
        var merged = new Dictionary<string, string?>
        {
            ["ReverseProxy:Clusters:ocp:Destinations:primary:Address"] = ocpAddress ?? Ocp.Url + OcpPath,
            ["Gateway:TokenClients:ocp:TokenEndpoint"] = TokenEndpoint.Url + TokenPath,
            ["Gateway:TokenClients:ocp:ClientId"] = ClientId,
            ["Gateway:TokenClients:ocp:ClientSecret"] = ClientSecret,
            ["Gateway:InboundAuth:talkdesk:ApiKeys:0"] = ApiKey,
            // Stored bodies are encrypted outside Development; a key made for the tests (Direct mode ignores it).
            ["Gateway:Delivery:EncryptionKeys:" + EncryptionKeyId] = EncryptionKey,
            ["Gateway:Delivery:ActiveEncryptionKey"] = EncryptionKeyId,
            // The in-process server has no ports: operator endpoints on every "port" unless a test sets one.
            ["Gateway:ManagementPort"] = "0",
        };
        foreach (var (key, value) in settings)
        {
            // null takes one of the defaults above away (an in-memory null would hide other sources).
            if (value is null)
            {
                merged.Remove(key);
            }
            else
            {
                merged[key] = value;
            }
        }

        _factory = new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
        {
            builder.UseEnvironment("Testing");
            // Host settings are visible while Program.cs builds (app configuration added here only
            // later), which settings read at registration time, such as SecretsDirectory, need.
            foreach (var (key, value) in merged)
            {
                builder.UseSetting(key, value);
            }

            builder.ConfigureAppConfiguration((_, config) => config.AddInMemoryCollection(merged));
            if (services is not null)
            {
                builder.ConfigureTestServices(services);
            }
        });
        if (kestrel)
        {
            // A real socket server, for what only Kestrel enforces (limits, framing, shutdown).
            _factory.UseKestrel(options => options.Listen(System.Net.IPAddress.Loopback, 0));
            _factory.StartServer();
        }
    }

    /// <summary>A gateway with extra settings; <paramref name="ocpAddress"/> overrides where the cluster points.</summary>
    public static GatewayHost Create(IReadOnlyDictionary<string, string?> settings, string? ocpAddress = null,
        Action<IServiceCollection>? services = null) => new(settings, ocpAddress, services);

    /// <summary>A gateway on a real Kestrel socket on loopback (its address is <see cref="KestrelAddress"/>).</summary>
    public static GatewayHost CreateOnKestrel(IReadOnlyDictionary<string, string?> settings, Action<IServiceCollection>? services = null) =>
        new(settings, null, services, kestrel: true);

    /// <summary>Where the Kestrel-hosted gateway listens.</summary>
    public Uri KestrelAddress => new(_factory.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
        .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.First());

    public WireMockServer Ocp { get; }

    /// <summary>The stand-in OAuth token endpoint.</summary>
    public WireMockServer TokenEndpoint { get; }

    /// <summary>Makes the token endpoint answer with <paramref name="token"/> (lifetime <paramref name="expiresIn"/> s).</summary>
    public void IssueTokens(string token, int expiresIn = 3600)
    {
        TokenEndpoint.Reset();
        TokenEndpoint.Given(Request.Create().WithPath(TokenPath).UsingPost())
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json")
                .WithBody($$"""{"access_token":"{{token}}","token_type":"Bearer","expires_in":{{expiresIn}}}"""));
    }

    public IServiceProvider Services => _factory.Services;

    /// <summary>The in-process server, for requests that need a chosen remote address.</summary>
    public Microsoft.AspNetCore.TestHost.TestServer Server => _factory.Server;

    /// <summary>A client that authenticates as Talkdesk does in the shipped configuration (API key).</summary>
    public HttpClient CreateClient()
    {
        var client = _factory.CreateClient();
        client.DefaultRequestHeaders.Add(ApiKeyHeader, ApiKey);
        return client;
    }

    /// <summary>A client without inbound credentials.</summary>
    public HttpClient CreateAnonymousClient() => _factory.CreateClient();

    /// <summary>A client that keeps cookies as a browser does; redirects are followed only when asked.</summary>
    public HttpClient CreateBrowserClient(bool followRedirects = false) =>
        _factory.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { AllowAutoRedirect = followRedirects, HandleCookies = true });

    public void Dispose()
    {
        _factory.Dispose();
        Ocp.Stop();
        Ocp.Dispose();
        TokenEndpoint.Stop();
        TokenEndpoint.Dispose();
    }
}

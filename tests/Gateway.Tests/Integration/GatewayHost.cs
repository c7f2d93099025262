using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
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

    private readonly WebApplicationFactory<Program> _factory;

    public GatewayHost() : this(new Dictionary<string, string?>(), null)
    {
    }

    private GatewayHost(IReadOnlyDictionary<string, string?> settings, string? ocpAddress)
    {
        Ocp = WireMockServer.Start();
        var merged = new Dictionary<string, string?>
        {
            ["ReverseProxy:Clusters:ocp:Destinations:primary:Address"] = ocpAddress ?? Ocp.Url + OcpPath,
        };
        foreach (var (key, value) in settings)
        {
            merged[key] = value;
        }

        _factory = new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
        {
            builder.UseEnvironment("Testing");
            builder.ConfigureAppConfiguration((_, config) => config.AddInMemoryCollection(merged));
        });
    }

    /// <summary>A gateway with extra settings; <paramref name="ocpAddress"/> overrides where the cluster points.</summary>
    public static GatewayHost Create(IReadOnlyDictionary<string, string?> settings, string? ocpAddress = null) =>
        new(settings, ocpAddress);

    public WireMockServer Ocp { get; }

    public IServiceProvider Services => _factory.Services;

    public HttpClient CreateClient() => _factory.CreateClient();

    public void Dispose()
    {
        _factory.Dispose();
        Ocp.Stop();
        Ocp.Dispose();
    }
}

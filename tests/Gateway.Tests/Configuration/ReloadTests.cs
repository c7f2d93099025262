using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using OcpTalkdesk.Gateway.Tests.Delivery;
using OcpTalkdesk.Gateway.Tests.Integration;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace OcpTalkdesk.Gateway.Tests.Configuration;

/// <summary>A configuration change at run time: a bad one leaves the last good settings in force, a good one applies.</summary>
public sealed class ReloadTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("gateway-reload-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    public static TheoryData<string, string, string, string> BadChanges => new()
    {
        // Before the last good settings were kept, each of these answered every event 500 until the file was fixed.
        { "Gateway:Delivery:AttemptBudget", "abc", "00:00:03", "Gateway:Delivery:AttemptBudget" },
        { "Gateway:Delivery:RetrySchedule:0", "-00:00:01", "00:00:01", "Gateway:Delivery:RetrySchedule:0" },
        { "Gateway:ExecutionTimeout", "00:00:00", "00:00:09", "Gateway:ExecutionTimeout" },
        { "Gateway:InboundAuth:talkdesk:ApiKeys:0", "too-short", GatewayHost.ApiKey, "Gateway:InboundAuth:talkdesk:ApiKeys" },
    };

    [Theory]
    [MemberData(nameof(BadChanges))]
    public async Task A_bad_change_keeps_the_last_good_settings_says_so_and_a_good_one_applies(string key, string bad, string good, string named)
    {
        using var host = GatewayHost.Create(StoreAndForwardTests.Settings(_folder), services: s => s.AddLogging(l => l.AddFakeLogging()));
        host.Ocp.Given(Request.Create().UsingPost()).RespondWith(Response.Create().WithStatusCode(200));
        var client = host.CreateClient();
        var configuration = (IConfigurationRoot)host.Services.GetRequiredService<IConfiguration>();

        configuration[key] = bad;
        configuration.Reload();

        var during = await client.PostAsync(GatewayHost.EventsPath, Samples.Json(StoreAndForwardTests.Event("reload", "r-1")));
        Assert.Equal(HttpStatusCode.OK, during.StatusCode);
        var check = await ConfigurationCheckAsync(host);
        Assert.Equal("Degraded", check.GetProperty("status").GetString());
        Assert.Contains(named, check.GetProperty("description").GetString(), StringComparison.Ordinal);
        var metrics = await host.CreateAnonymousClient().GetStringAsync("/metrics");
        Assert.True(StoreAndForwardTests.Metric(metrics, "ocp_gateway_config_reload_rejections_total") >= 1);
        // Told once (a change raises several notifications), though one bad key may refuse two groups of settings.
        var rejected = host.Services.GetRequiredService<FakeLogCollector>().GetSnapshot().Where(r => r.Id.Id == 1101).ToList();
        Assert.Contains(rejected, r => r.Level == LogLevel.Warning && r.Message.Contains(named, StringComparison.Ordinal));
        Assert.Equal(rejected.Count, rejected.Select(r => r.Message).Distinct().Count());

        // Another good value (a key set to null in memory would bind as zero, not as absent).
        configuration[key] = good;
        configuration.Reload();

        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync(GatewayHost.EventsPath, Samples.Json(StoreAndForwardTests.Event("reload", "r-2")))).StatusCode);
        var after = await ConfigurationCheckAsync(host);
        Assert.True(after.GetProperty("status").GetString() == "Healthy", after.GetRawText());
    }

    [Fact]
    public async Task A_refused_api_key_is_not_accepted_and_a_good_new_one_is()
    {
        using var host = GatewayHost.Create(new Dictionary<string, string?>());
        host.Ocp.Given(Request.Create().UsingPost()).RespondWith(Response.Create().WithStatusCode(200));
        var configuration = (IConfigurationRoot)host.Services.GetRequiredService<IConfiguration>();

        configuration["Gateway:InboundAuth:talkdesk:ApiKeys:1"] = "too-short";
        configuration.Reload();
        var refused = await PostWithKeyAsync(host, "too-short");
        configuration["Gateway:InboundAuth:talkdesk:ApiKeys:1"] = "a-new-key-long-enough-0002";
        configuration.Reload();

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await PostWithKeyAsync(host, "a-new-key-long-enough-0002")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await PostWithKeyAsync(host, GatewayHost.ApiKey)).StatusCode);
    }

    [Fact]
    public async Task A_new_execution_timeout_holds_the_next_call()
    {
        using var host = GatewayHost.Create(new Dictionary<string, string?>());
        host.Ocp.Given(Request.Create().UsingPost()).RespondWith(Response.Create().WithStatusCode(200).WithDelay(TimeSpan.FromSeconds(1)));
        var client = host.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync(GatewayHost.EventsPath, Samples.Json(StoreAndForwardTests.Event("timeout", "t-1")))).StatusCode);
        var configuration = (IConfigurationRoot)host.Services.GetRequiredService<IConfiguration>();

        configuration["Gateway:ExecutionTimeout"] = "00:00:00.200";
        configuration.Reload();

        Assert.Equal(HttpStatusCode.GatewayTimeout, (await client.PostAsync(GatewayHost.EventsPath, Samples.Json(StoreAndForwardTests.Event("timeout", "t-2")))).StatusCode);
    }

    private static async Task<HttpResponseMessage> PostWithKeyAsync(GatewayHost host, string apiKey)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, GatewayHost.EventsPath) { Content = Samples.Json(StoreAndForwardTests.Event("keys", Guid.NewGuid().ToString("N"))) };
        request.Headers.Add(GatewayHost.ApiKeyHeader, apiKey);
        return await host.CreateAnonymousClient().SendAsync(request);
    }

    private static async Task<JsonElement> ConfigurationCheckAsync(GatewayHost host)
    {
        using var ready = JsonDocument.Parse(await host.CreateAnonymousClient().GetStringAsync("/readyz"));
        return ready.RootElement.GetProperty("checks").GetProperty("configuration").Clone();
    }
}

using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using OcpTalkdesk.Gateway.Delivery;
using OcpTalkdesk.Gateway.Tests.Integration;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace OcpTalkdesk.Gateway.Tests.Delivery;

/// <summary>
/// The circuit breaker per OCP® cluster: once enough forwards failed, new events are parked at once instead of
/// each waiting the attempt budget; the worker probes, and the breaker closes when OCP® takes events again.
/// </summary>
public sealed class BreakerTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("gateway-breaker-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    private GatewayHost Host(string breakDuration, string retry, string? maxAge = null)
    {
        var settings = StoreAndForwardTests.Settings(_folder);
        if (maxAge is not null)
        {
            settings["Gateway:Delivery:MaxAge"] = maxAge;
        }

        settings["Gateway:Delivery:AttemptBudget"] = "00:00:00.300";
        settings["Gateway:Delivery:RetrySchedule:0"] = retry;
        settings["Gateway:Delivery:Breaker:MinimumThroughput"] = "4";
        settings["Gateway:Delivery:Breaker:FailureRatio"] = "0.5";
        settings["Gateway:Delivery:Breaker:BreakDuration"] = breakDuration;
        return GatewayHost.Create(settings, services: s => s.AddLogging(l => l.AddFakeLogging()));
    }

    private static async Task<HttpStatusCode> SendAsync(GatewayHost host, string conversation, string message) =>
        (await host.CreateClient().PostAsync(GatewayHost.EventsPath, Samples.Json(StoreAndForwardTests.Event(conversation, message)))).StatusCode;

    private static Task<List<JsonElement>> PendingAsync(GatewayHost host) => StoreAndForwardTests.ListAsync(host, "pending");

    private static async Task<string> ReadyAsync(GatewayHost host) => await (await host.CreateAnonymousClient().GetAsync("/readyz")).Content.ReadAsStringAsync();

    private static double Metric(string text, string series) => StoreAndForwardTests.Metric(text, series);

    private static IReadOnlyList<FakeLogRecord> Logs(GatewayHost host) => host.Services.GetRequiredService<FakeLogCollector>().GetSnapshot();

    [Fact]
    public async Task With_the_breaker_open_an_event_of_a_dead_lettered_conversation_is_kept_behind_it_and_its_resend_answered_from_its_key()
    {
        // While the breaker is open the live step parks without reading the conversation (its key answered from memory):
        // the store keeps the event dead behind the dead letter all the same.
        using var host = Host(breakDuration: "00:05:00", retry: "00:00:30", maxAge: "00:00:00.300");
        StoreAndForwardTests.OcpAnswers(host, 503);
        Assert.Equal(HttpStatusCode.Accepted, await SendAsync(host, "D", "d-1"));
        for (var i = 1; i <= 3; i++)
        {
            Assert.Equal(HttpStatusCode.Accepted, await SendAsync(host, "X" + i, "x-" + i));
        }

        Assert.True(await Eventually.HoldsAsync(async () => (await StoreAndForwardTests.ListAsync(host, "dead")).Any(e => e.GetProperty("conversationId").GetString() == "D")),
            "d-1 not dead-lettered");
        var forwarded = host.Ocp.LogEntries.Count;
        var body = StoreAndForwardTests.Event("D", "d-2");

        var later = await host.CreateClient().PostAsync(GatewayHost.EventsPath, Samples.Json(body));
        var resend = await host.CreateClient().PostAsync(GatewayHost.EventsPath, Samples.Json(body));

        Assert.Equal(HttpStatusCode.Accepted, later.StatusCode);
        Assert.Equal(forwarded, host.Ocp.LogEntries.Count);
        var dead = (await StoreAndForwardTests.ListAsync(host, "dead")).Where(e => e.GetProperty("conversationId").GetString() == "D").ToList();
        Assert.Equal(2, dead.Count);
        Assert.Equal(DeliveryStates.BehindDeadLetter, dead[1].GetProperty("lastError").GetString());
        using var first = JsonDocument.Parse(await later.Content.ReadAsStringAsync());
        using var again = JsonDocument.Parse(await resend.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Accepted, resend.StatusCode);
        Assert.Equal(first.RootElement.GetProperty("id").GetString(), again.RootElement.GetProperty("id").GetString());
        Assert.Equal(dead[1].GetProperty("id").GetString(), first.RootElement.GetProperty("id").GetString());
    }

    [Fact]
    public async Task When_ocp_hangs_the_breaker_opens_and_later_events_are_parked_without_being_sent()
    {
        using var host = Host(breakDuration: "00:00:30", retry: "00:00:30");
        host.Ocp.Given(Request.Create().UsingPost()).RespondWith(Response.Create().WithStatusCode(200).WithDelay(TimeSpan.FromSeconds(5)));

        // Four forwards run out of their budget (each parked), which opens the breaker.
        for (var i = 1; i <= 4; i++)
        {
            Assert.Equal(HttpStatusCode.Accepted, await SendAsync(host, "H" + i, "h-" + i));
        }

        var fast = await SendAsync(host, "H5", "h-5");

        Assert.Equal(HttpStatusCode.Accepted, fast);
        var parked = (await PendingAsync(host)).Single(e => e.GetProperty("conversationId").GetString() == "H5");
        Assert.Equal(0, parked.GetProperty("attempts").GetInt32());
        Assert.Contains("circuit open", parked.GetProperty("lastError").GetString(), StringComparison.Ordinal);
        var ready = await ReadyAsync(host);
        Assert.Contains("\"status\":\"Degraded\"", ready, StringComparison.Ordinal);
        Assert.Contains("circuit open", ready, StringComparison.Ordinal);
        Assert.True(await Eventually.HoldsAsync(async () =>
            Metric(await host.CreateAnonymousClient().GetStringAsync("/metrics"), "ocp_gateway_delivery_breaker_state{cluster=\"ocp\"}") == 2), "state not exported");
        Assert.Single(Logs(host), r => r.Id.Id == 6014 && r.Level == LogLevel.Warning);
    }

    [Fact]
    public async Task The_worker_s_probe_closes_the_breaker_and_every_event_is_delivered_once_in_order()
    {
        using var host = Host(breakDuration: "00:00:00.500", retry: "00:00:00.100");
        StoreAndForwardTests.OcpAnswers(host, 503);
        for (var i = 1; i <= 4; i++)
        {
            Assert.Equal(HttpStatusCode.Accepted, await SendAsync(host, "A" + i, "a-" + i));
        }

        Assert.True(await Eventually.HoldsAsync(() => Logs(host).Any(r => r.Id.Id == 6014)), "the breaker did not open");
        Assert.Equal(HttpStatusCode.Accepted, await SendAsync(host, "C", "c-1"));
        Assert.Equal(HttpStatusCode.Accepted, await SendAsync(host, "C", "c-2"));

        StoreAndForwardTests.OcpAnswers(host, 200);
        Assert.True(await Eventually.HoldsAsync(() => StoreAndForwardTests.Delivered(host).Count == 6), "not all delivered after OCP® came back");
        Assert.True(await Eventually.HoldsAsync(async () => (await ReadyAsync(host)).Contains("\"status\":\"Healthy\"", StringComparison.Ordinal)), "the breaker did not close");
        var delivered = StoreAndForwardTests.Delivered(host);
        var direct = await SendAsync(host, "D", "d-1");

        Assert.Equal(6, delivered.Distinct().Count());
        Assert.True(delivered.IndexOf("c-1") < delivered.IndexOf("c-2"), "c-2 was delivered before c-1");
        Assert.Contains(Logs(host), r => r.Id.Id == 6015);
        Assert.Equal(HttpStatusCode.OK, direct);
    }
}

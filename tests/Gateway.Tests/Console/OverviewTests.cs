using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using OcpTalkdesk.Gateway.Delivery;
using OcpTalkdesk.Gateway.Metrics;
using OcpTalkdesk.Gateway.OperatorConsole;
using OcpTalkdesk.Gateway.OperatorConsole.Pages;
using OcpTalkdesk.Gateway.Tests.Delivery;
using OcpTalkdesk.Gateway.Tests.Integration;

namespace OcpTalkdesk.Gateway.Tests.Console;

/// <summary>The overview's figures: rejections of the last hour from the counters, and its page handler without a browser.</summary>
public sealed class OverviewTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("gateway-overview-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public void Rejections_of_the_last_hour_are_the_counters_less_the_snapshot_of_an_hour_ago()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 3, 9, 0, 0, TimeSpan.Zero));
        var metrics = new GatewayMetrics();
        var history = new RejectionHistory(metrics, time);
        metrics.SchemaRejected("a", "message_created", "required");
        metrics.SchemaRejected("b", "message_created", "required");
        metrics.SchemaRejected("a", "conversation_started", "type");

        var early = history.LastHour();
        for (var minute = 1; minute <= 61; minute++)
        {
            time.Advance(TimeSpan.FromMinutes(1));
            history.Sample();
            if (minute == 30)
            {
                metrics.SchemaRejected("a", "message_created", "required");
            }
        }

        var later = history.LastHour();

        Assert.Equal(new DateTimeOffset(2026, 12, 3, 9, 0, 0, TimeSpan.Zero), early.Since);
        Assert.Equal([("message_created", "required", 2L), ("conversation_started", "type", 1L)], early.Rows);
        Assert.Equal(time.GetUtcNow() - TimeSpan.FromHours(1), later.Since);
        Assert.Equal([("message_created", "required", 1L)], later.Rows);
    }

    [Fact]
    public async Task The_overview_handler_reads_states_the_oldest_held_event_ocp_s_last_success_and_rejections()
    {
        var settings = StoreAndForwardTests.Settings(_folder);
        settings["Gateway:Delivery:AdminKeys:alice"] = "overview-admin-key-0001";
        settings["Gateway:Delivery:RetrySchedule:0"] = "01:00:00";
        using var host = GatewayHost.Create(settings);
        var client = host.CreateClient();
        StoreAndForwardTests.OcpAnswers(host, 200);
        Assert.True((await client.PostAsync(GatewayHost.EventsPath, Samples.Json(StoreAndForwardTests.Event("O", "o-1")))).IsSuccessStatusCode);
        StoreAndForwardTests.OcpAnswers(host, 503);
        await client.PostAsync(GatewayHost.EventsPath, Samples.Json(StoreAndForwardTests.Event("O", "o-2")));
        await client.PostAsync(GatewayHost.EventsPath, Samples.Json("{\"event_type\":\"message_created\"}"));
        var page = new IndexModel(host.Services.GetRequiredService<DeliveryOperations>(), host.Services.GetRequiredService<RejectionHistory>(), TimeProvider.System);

        await page.OnGetAsync();

        Assert.Contains(("pending", 1L), page.Counts);
        Assert.NotNull(page.OldestHeld);
        Assert.True(page.OcpFailing);
        Assert.NotNull(page.LastOcpSuccess);
        Assert.Contains(page.Rejections, row => row is { EventType: "message_created", Keyword: "required", Count: > 0 });
    }

    [Theory]
    [InlineData(45, "45 s")]
    [InlineData(12 * 60, "12 min")]
    [InlineData(3 * 3600 + 5 * 60, "3 h 5 min")]
    [InlineData(2 * 86400 + 4 * 3600, "2 d 4 h")]
    public void Ages_read_as_people_say_them(int seconds, string expected) => Assert.Equal(expected, IndexModel.Age(TimeSpan.FromSeconds(seconds)));
}

using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using OcpTalkdesk.Gateway.Tests.Integration;

namespace OcpTalkdesk.Gateway.Tests.Delivery;

/// <summary><c>ExpireAfter</c>: a chat message too late to be of use is set aside (kept, replayable) and its conversation goes on.</summary>
public sealed class StaleEventTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("gateway-stale-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    private static Task<List<JsonElement>> ListAsync(GatewayHost host, string state) => StoreAndForwardTests.ListAsync(host, state);

    private static byte[] Ended(string conversation) => System.Text.Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
    {
        event_type = "conversation_ended",
        conversation_id = conversation,
        timestamp = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture),
    }));

    [Fact]
    public async Task A_message_older_than_its_expire_after_is_set_aside_and_the_conversation_s_end_is_still_delivered()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var settings = StoreAndForwardTests.Settings(_folder);
        settings["Gateway:Delivery:ExpireAfter:message_created"] = "00:15:00";
        using var host = GatewayHost.Create(settings, services: s => s.AddSingleton<TimeProvider>(time).AddLogging(l => l.AddFakeLogging()));
        StoreAndForwardTests.OcpAnswers(host, 503);
        var client = host.CreateClient();
        Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsync(GatewayHost.EventsPath, Samples.Json(StoreAndForwardTests.Event("late", "m-1")))).StatusCode);
        var ended = await client.PostAsync(GatewayHost.EventsPath, Samples.Json(Ended("late")));
        Assert.Equal(HttpStatusCode.Accepted, ended.StatusCode);

        time.Advance(TimeSpan.FromMinutes(14));
        Assert.Empty(await ListAsync(host, "stale"));

        // The fake clock moves a second per look, so the worker's rounds (each waiting on it) keep coming.
        time.Advance(TimeSpan.FromMinutes(2));
        Assert.True(await Eventually.HoldsAsync(async () =>
        {
            time.Advance(TimeSpan.FromSeconds(1));
            return (await ListAsync(host, "stale")).Count == 1;
        }), "not set aside after ExpireAfter");
        StoreAndForwardTests.OcpAnswers(host, 200);
        Assert.True(await Eventually.HoldsAsync(() =>
        {
            time.Advance(TimeSpan.FromSeconds(1));
            return host.Ocp.LogEntries.Any(e => e.ResponseMessage.StatusCode is 200);
        }), "the conversation's end was not delivered");

        var stale = (await ListAsync(host, "stale")).Single();
        Assert.Contains("ExpireAfter:message_created", stale.GetProperty("lastError").GetString(), StringComparison.Ordinal);
        Assert.All(host.Ocp.LogEntries.Where(e => e.ResponseMessage.StatusCode is 200), e => Assert.Contains("conversation_ended", e.RequestMessage.Body, StringComparison.Ordinal));
        Assert.Contains(host.Services.GetRequiredService<FakeLogCollector>().GetSnapshot(), r => r.Id.Id == 6016 && r.Level == LogLevel.Warning);
    }
}

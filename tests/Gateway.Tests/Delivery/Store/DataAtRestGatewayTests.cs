using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using OcpTalkdesk.Gateway.Delivery;
using OcpTalkdesk.Gateway.Tests.Commands;
using OcpTalkdesk.Gateway.Tests.Integration;

namespace OcpTalkdesk.Gateway.Tests.Delivery;

/// <summary>
/// The data-at-rest duties as an operator meets them, on the real gateway: who did what in the audit log,
/// a conversation erased through the admin API and the command, a missing key reported and survived,
/// and dead letters given up after their retention.
/// </summary>
public sealed class DataAtRestGatewayTests : IDisposable
{
    private const string OpsKey = "ops-admin-key-for-tests-01";
    private const string OldKeyId = "old";
    private const string OldKey = "3q2+7wABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhs=";
    private readonly string _folder = Directory.CreateTempSubdirectory("gateway-at-rest-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    private Dictionary<string, string?> Settings(params (string Key, string? Value)[] more)
    {
        var settings = StoreAndForwardTests.Settings(_folder);
        settings["Gateway:Delivery:AdminKeys:ops"] = OpsKey;
        foreach (var (key, value) in more)
        {
            settings[key] = value;
        }

        return settings;
    }

    private static HttpClient Admin(GatewayHost host, string key = OpsKey)
    {
        var client = host.CreateAnonymousClient();
        client.DefaultRequestHeaders.Add(DeliveryAdminEndpoints.HeaderName, key);
        return client;
    }

    private static Task<List<JsonElement>> ListAsync(GatewayHost host, string state) => StoreAndForwardTests.ListAsync(host, state, OpsKey);

    private static async Task ParkAsync(GatewayHost host, string conversation, string message) =>
        Assert.Equal(HttpStatusCode.Accepted,
            (await host.CreateClient().PostAsync(GatewayHost.EventsPath, Samples.Json(StoreAndForwardTests.Event(conversation, message)))).StatusCode);

    private static IReadOnlyList<FakeLogRecord> Logs(GatewayHost host) => host.Services.GetRequiredService<FakeLogCollector>().GetSnapshot();

    private static double Metric(string text, string series) => StoreAndForwardTests.Metric(text, series);

    [Fact]
    public async Task Admin_actions_are_audited_with_the_key_s_name_a_refusal_with_nobody_and_the_key_is_never_logged()
    {
        using var host = GatewayHost.Create(Settings(), services: s => s.AddLogging(l => l.AddFakeLogging()));
        StoreAndForwardTests.OcpAnswers(host, 503);
        await ParkAsync(host, "audit-1", "m-1");

        await ListAsync(host, "pending");
        var refused = await Admin(host, "a-wrong-admin-key-00001").DeleteAsync("/admin/conversations/audit-1");
        var erased = await Admin(host).DeleteAsync("/admin/conversations/audit-1");

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal(HttpStatusCode.OK, erased.StatusCode);
        var audit = Logs(host).Where(r => r.Category == "OcpTalkdesk.Gateway.Delivery.Audit").Select(r => r.Message).ToList();
        Assert.Equal(
        [
            "Admin list state=pending by ops: 200",
            "Admin erase conversation audit-1 by nobody: refused 401",
            "Admin erase conversation audit-1 by ops: 200 (1 event(s) erased)",
        ], audit);
        Assert.All(Logs(host), r => Assert.DoesNotContain(OpsKey, r.Message + r.Exception, StringComparison.Ordinal));
        Assert.All(Logs(host), r => Assert.DoesNotContain(GatewayHost.EncryptionKey, r.Message + r.Exception, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Erasing_a_conversation_removes_its_events_so_they_are_never_delivered_and_a_resend_is_new()
    {
        using var host = GatewayHost.Create(Settings());
        StoreAndForwardTests.OcpAnswers(host, 503);
        await ParkAsync(host, "erase-me", "x-1");
        await ParkAsync(host, "erase-me", "x-2");
        await ParkAsync(host, "keep-me", "k-1");

        var erased = await Admin(host).DeleteAsync("/admin/conversations/erase-me");
        StoreAndForwardTests.OcpAnswers(host, 200);

        Assert.Equal(HttpStatusCode.OK, erased.StatusCode);
        Assert.Equal("{\"erased\":2}", await erased.Content.ReadAsStringAsync());
        Assert.True(await Eventually.HoldsAsync(() => StoreAndForwardTests.Delivered(host).Count == 1), "the kept conversation was not delivered");
        Assert.Equal(["k-1"], StoreAndForwardTests.Delivered(host));
        Assert.Equal("{\"erased\":0}", await (await Admin(host).DeleteAsync("/admin/conversations/erase-me")).Content.ReadAsStringAsync());

        // Talkdesk resending an erased event: nothing remembers it, so it is forwarded as new.
        var resend = await host.CreateClient().PostAsync(GatewayHost.EventsPath, Samples.Json(StoreAndForwardTests.Event("erase-me", "x-1")));
        Assert.Equal(HttpStatusCode.OK, resend.StatusCode);
        Assert.Equal(["k-1", "x-1"], StoreAndForwardTests.Delivered(host));
    }

    [Fact]
    public async Task The_erase_command_removes_a_conversation_from_the_store_a_gateway_uses()
    {
        using var host = GatewayHost.Create(Settings());
        StoreAndForwardTests.OcpAnswers(host, 503);
        await ParkAsync(host, "by-shell", "s-1");
        var environment = StoreAndForwardTests.CommandEnvironment(_folder);

        var erase = await GatewayProcess.RunAsync(["deliveries", "erase", "--conversation", "by-shell"], environment);
        var missing = await GatewayProcess.RunAsync(["deliveries", "erase"], environment);

        Assert.True(erase.ExitCode == 0, erase.Error);
        Assert.Contains("erased 1 event(s) of conversation by-shell", erase.Output, StringComparison.Ordinal);
        Assert.Contains("Admin erase conversation by-shell by shell:", erase.Error, StringComparison.Ordinal);
        Assert.Empty(await ListAsync(host, "pending"));
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("--conversation", missing.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rows_under_a_missing_key_are_kept_reported_once_and_delivered_when_the_key_is_back()
    {
        var withOldKey = Settings(("Gateway:Delivery:EncryptionKeys:" + OldKeyId, OldKey), ("Gateway:Delivery:ActiveEncryptionKey", OldKeyId));
        using (var first = GatewayHost.Create(withOldKey))
        {
            StoreAndForwardTests.OcpAnswers(first, 503);
            await ParkAsync(first, "under-old", "o-1");
            await ParkAsync(first, "under-old", "o-2");
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        using (var without = GatewayHost.Create(Settings(), services: s => s.AddLogging(l => l.AddFakeLogging())))
        {
            StoreAndForwardTests.OcpAnswers(without, 200);
            var client = without.CreateAnonymousClient();
            Assert.True(await Eventually.HoldsAsync(async () =>
                Metric(await client.GetStringAsync("/metrics"), $"ocp_gateway_delivery_rows_without_key{{key_id=\"{OldKeyId}\"}}") == 2), "not counted");

            using var ready = JsonDocument.Parse(await (await client.GetAsync("/readyz")).Content.ReadAsStringAsync());
            Assert.Equal("Degraded", ready.RootElement.GetProperty("status").GetString());
            Assert.Contains(OldKeyId, ready.RootElement.GetProperty("checks").GetRawText(), StringComparison.Ordinal);
            Assert.Single(Logs(without), r => r.Id.Id == 6008 && r.Message.Contains("key 'old'", StringComparison.Ordinal));
            Assert.Empty(without.Ocp.LogEntries);
            Assert.Equal(2, (await ListAsync(without, "pending")).Count);
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        using var keyBack = GatewayHost.Create(Settings(("Gateway:Delivery:EncryptionKeys:" + OldKeyId, OldKey)));
        StoreAndForwardTests.OcpAnswers(keyBack, 200);
        // The in-process host starts on first use; WireMock's log alone would not start it.
        var back = keyBack.CreateAnonymousClient();
        Assert.True(await Eventually.HoldsAsync(() => StoreAndForwardTests.Delivered(keyBack).Count == 2), "not delivered with the key back");
        Assert.Equal(["o-1", "o-2"], StoreAndForwardTests.Delivered(keyBack));
        using var healthy = JsonDocument.Parse(await (await back.GetAsync("/readyz")).Content.ReadAsStringAsync());
        Assert.Equal("Healthy", healthy.RootElement.GetProperty("status").GetString());
    }

    [Fact]
    public async Task The_rekey_command_moves_rows_to_the_active_key_so_a_gateway_without_the_old_key_delivers_them()
    {
        using (var first = GatewayHost.Create(Settings(("Gateway:Delivery:EncryptionKeys:" + OldKeyId, OldKey), ("Gateway:Delivery:ActiveEncryptionKey", OldKeyId))))
        {
            StoreAndForwardTests.OcpAnswers(first, 503);
            await ParkAsync(first, "rotated", "r-1");
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        var environment = StoreAndForwardTests.CommandEnvironment(_folder);
        environment["Gateway__Delivery__EncryptionKeys__" + OldKeyId] = OldKey;

        var rekey = await GatewayProcess.RunAsync(["deliveries", "rekey"], environment);
        var again = await GatewayProcess.RunAsync(["deliveries", "rekey"], environment);

        Assert.True(rekey.ExitCode == 0, rekey.Error);
        Assert.Contains($"re-encrypted 1 row(s) under key '{GatewayHost.EncryptionKeyId}'", rekey.Output, StringComparison.Ordinal);
        Assert.Contains("re-encrypted 0 row(s)", again.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(OldKey, rekey.Output + rekey.Error, StringComparison.Ordinal);
        using var retired = GatewayHost.Create(Settings());
        StoreAndForwardTests.OcpAnswers(retired, 200);
        _ = retired.CreateAnonymousClient();
        Assert.True(await Eventually.HoldsAsync(() => StoreAndForwardTests.Delivered(retired).Count == 1), "not delivered after the old key was retired");
        Assert.Equal(["r-1"], StoreAndForwardTests.Delivered(retired));
    }

    [Fact]
    public async Task A_dead_letter_past_its_retention_keeps_a_tombstone_and_the_removal_is_logged_and_counted()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var host = GatewayHost.Create(
            Settings(("Gateway:Delivery:MaxAge", "00:01:00"), ("Gateway:Delivery:DeadLetterRetention", "01:00:00")),
            services: s => s.AddSingleton<TimeProvider>(time).AddLogging(l => l.AddFakeLogging()));
        StoreAndForwardTests.OcpAnswers(host, 503);
        await ParkAsync(host, "given-up", "g-1");

        time.Advance(TimeSpan.FromMinutes(2));
        Assert.True(await Eventually.HoldsAsync(async () => (await ListAsync(host, "dead")).Count == 1), "not dead-lettered after MaxAge");
        Assert.Empty(await ListAsync(host, "expired"));

        // The retention, and the worker's next pruning round (every 10 minutes).
        time.Advance(TimeSpan.FromMinutes(71));
        Assert.True(await Eventually.HoldsAsync(async () => (await ListAsync(host, "expired")).Count == 1), "not expired after the retention");

        var tombstone = (await ListAsync(host, "expired")).Single();
        Assert.Equal("given-up", tombstone.GetProperty("conversationId").GetString());
        Assert.Contains("MaxAge", tombstone.GetProperty("lastError").GetString(), StringComparison.Ordinal);
        Assert.Empty(await ListAsync(host, "dead"));
        Assert.Equal(1, Metric(await host.CreateAnonymousClient().GetStringAsync("/metrics"), "ocp_gateway_delivery_dead_letters_expired_total"));
        Assert.Single(Logs(host), r => r.Id.Id == 6010 && r.Level == LogLevel.Warning);
    }
}

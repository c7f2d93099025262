using System.Net;
using System.Text.Json;
using OcpTalkdesk.Gateway.Delivery;
using OcpTalkdesk.Gateway.Tests.Commands;
using OcpTalkdesk.Gateway.Tests.Integration;

namespace OcpTalkdesk.Gateway.Tests.Delivery;

/// <summary>Dead letters after MaxAge, kept in order, replayed or discarded by an operator (admin API and command).</summary>
public sealed class DeadLetterAndReplayTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("gateway-dead-").FullName;
    private readonly GatewayHost _host;

    public DeadLetterAndReplayTests()
    {
        var settings = StoreAndForwardTests.Settings(_folder);
        settings["Gateway:Delivery:MaxAge"] = "00:00:00.300";
        _host = GatewayHost.Create(settings);
    }

    public void Dispose()
    {
        _host.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    private HttpClient Admin()
    {
        var client = _host.CreateAnonymousClient();
        client.DefaultRequestHeaders.Add(DeliveryAdminEndpoints.HeaderName, StoreAndForwardTests.AdminKey);
        return client;
    }

    private async Task<List<JsonElement>> ListAsync(string state)
    {
        var answer = await Admin().GetAsync($"/admin/deliveries?state={state}");
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        return [.. JsonDocument.Parse(await answer.Content.ReadAsStringAsync()).RootElement.EnumerateArray().Select(e => e.Clone())];
    }

    [Fact]
    public async Task An_event_past_max_age_is_dead_lettered_with_the_ones_behind_it_and_replay_delivers_them_in_order()
    {
        StoreAndForwardTests.OcpAnswers(_host, 503);
        var client = _host.CreateClient();
        await client.PostAsync(GatewayHost.EventsPath, Samples.Json(StoreAndForwardTests.Event("D", "d-1")));
        await client.PostAsync(GatewayHost.EventsPath, Samples.Json(StoreAndForwardTests.Event("D", "d-2")));

        Assert.True(await Eventually.HoldsAsync(() => ListAsync("dead").GetAwaiter().GetResult().Count == 2), "not dead-lettered");
        var dead = await ListAsync("dead");
        Assert.Equal(["D", "D"], dead.Select(e => e.GetProperty("conversationId").GetString()));
        Assert.DoesNotContain("payload", dead[0].GetRawText(), StringComparison.Ordinal);

        StoreAndForwardTests.OcpAnswers(_host, 200);
        var replay = await Admin().PostAsync($"/admin/deliveries/{dead[0].GetProperty("id").GetString()}/replay", null);

        Assert.Equal(HttpStatusCode.OK, replay.StatusCode);
        Assert.Contains("\"replayed\":2", await replay.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.True(await Eventually.HoldsAsync(() => StoreAndForwardTests.Delivered(_host).Count == 2), "not delivered after replay");
        Assert.Equal(["d-1", "d-2"], StoreAndForwardTests.Delivered(_host));
    }

    [Fact]
    public async Task A_new_event_of_a_dead_lettered_conversation_is_kept_behind_it_not_delivered_ahead()
    {
        StoreAndForwardTests.OcpAnswers(_host, 503);
        var client = _host.CreateClient();
        await client.PostAsync(GatewayHost.EventsPath, Samples.Json(StoreAndForwardTests.Event("E", "e-1")));
        Assert.True(await Eventually.HoldsAsync(() => ListAsync("dead").GetAwaiter().GetResult().Count == 1));
        StoreAndForwardTests.OcpAnswers(_host, 200);

        var later = await client.PostAsync(GatewayHost.EventsPath, Samples.Json(StoreAndForwardTests.Event("E", "e-2")));

        Assert.Equal(HttpStatusCode.Accepted, later.StatusCode);
        Assert.Empty(_host.Ocp.LogEntries);
        Assert.Equal(2, (await ListAsync("dead")).Count);
        // Without a state the list is the dead letters (README).
        Assert.Equal(2, JsonDocument.Parse(await Admin().GetStringAsync("/admin/deliveries")).RootElement.GetArrayLength());
    }

    [Fact]
    public async Task The_admin_api_refuses_without_the_key_and_is_not_on_the_events_route()
    {
        var anonymous = await _host.CreateAnonymousClient().GetAsync("/admin/deliveries?state=dead");
        var wrong = _host.CreateAnonymousClient();
        wrong.DefaultRequestHeaders.Add(DeliveryAdminEndpoints.HeaderName, "not-the-admin-key-at-all");

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await wrong.GetAsync("/admin/deliveries")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await Admin().GetAsync("/admin/deliveries?state=everything")).StatusCode);
    }

    [Fact]
    public async Task Discarding_a_dead_event_lets_the_next_of_its_conversation_be_replayed_alone()
    {
        StoreAndForwardTests.OcpAnswers(_host, 503);
        var client = _host.CreateClient();
        await client.PostAsync(GatewayHost.EventsPath, Samples.Json(StoreAndForwardTests.Event("F", "f-1")));
        await client.PostAsync(GatewayHost.EventsPath, Samples.Json(StoreAndForwardTests.Event("F", "f-2")));
        Assert.True(await Eventually.HoldsAsync(() => ListAsync("dead").GetAwaiter().GetResult().Count == 2));
        var dead = await ListAsync("dead");

        var discard = await Admin().DeleteAsync($"/admin/deliveries/{dead[0].GetProperty("id").GetString()}");
        StoreAndForwardTests.OcpAnswers(_host, 200);
        await Admin().PostAsync("/admin/deliveries/replay", null);

        Assert.Equal(HttpStatusCode.NoContent, discard.StatusCode);
        Assert.True(await Eventually.HoldsAsync(() => StoreAndForwardTests.Delivered(_host).Count == 1));
        Assert.Equal(["f-2"], StoreAndForwardTests.Delivered(_host));
    }

    [Fact]
    public async Task The_deliveries_command_lists_and_replays_the_same_store()
    {
        StoreAndForwardTests.OcpAnswers(_host, 503);
        await _host.CreateClient().PostAsync(GatewayHost.EventsPath, Samples.Json(StoreAndForwardTests.Event("G", "g-1")));
        Assert.True(await Eventually.HoldsAsync(() => ListAsync("dead").GetAwaiter().GetResult().Count == 1));
        // The command runs with the gateway's own settings, its encryption keys among them.
        var environment = StoreAndForwardTests.CommandEnvironment(_folder);

        var list = await GatewayProcess.RunAsync(["deliveries", "list", "--state", "dead"], environment);
        var replay = await GatewayProcess.RunAsync(["deliveries", "replay", "--all"], environment);

        Assert.Equal(0, list.ExitCode);
        using var line = JsonDocument.Parse(list.Output.Trim());
        Assert.Equal("G", line.RootElement.GetProperty("conversationId").GetString());
        Assert.Equal(0, replay.ExitCode);
        Assert.Contains("replayed 1 event(s)", replay.Output, StringComparison.Ordinal);
        // The audit line goes to standard error, so standard output stays the command's answer.
        Assert.Contains("Admin replay every dead event by shell:", replay.Error, StringComparison.Ordinal);
    }
}

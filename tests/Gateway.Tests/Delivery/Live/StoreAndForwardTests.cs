using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OcpTalkdesk.Gateway.Tests.Integration;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace OcpTalkdesk.Gateway.Tests.Delivery;

/// <summary>
/// Store-and-forward on the embedded SQLite store, in process against a WireMock.Net OCP® that fails,
/// then recovers: nothing lost, order per conversation, one key per event, resends answered as before.
/// </summary>
public sealed class StoreAndForwardTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("gateway-sf-").FullName;
    private readonly GatewayHost _host;

    public StoreAndForwardTests()
    {
        _host = GatewayHost.Create(Settings(_folder));
    }

    internal static Dictionary<string, string?> Settings(string folder, string store = "Sqlite", string? connectionString = null) => new()
    {
        ["Gateway:Delivery:Mode"] = "StoreAndForward",
        ["Gateway:Delivery:Store"] = store,
        ["ConnectionStrings:Delivery"] = connectionString ?? $"Data Source={Path.Combine(folder, "deliveries.db")}",
        ["Gateway:Delivery:RetrySchedule:0"] = "00:00:00.100",
        ["Gateway:Delivery:PollInterval"] = "00:00:00.050",
        // Room for a cold first forward (its token, YARP's first connection) on a loaded CI machine, where 2 s once ran
        // out and the event was parked; under the 5 s lease.
        ["Gateway:Delivery:AttemptBudget"] = "00:00:04",
        ["Gateway:Delivery:LeaseDuration"] = "00:00:05",
        ["Gateway:Delivery:AdminApiKeys:0"] = AdminKey,
    };

    internal const string AdminKey = "admin-key-for-tests-0001";

    public void Dispose()
    {
        _host.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    /// <summary>An event as Talkdesk sends it, stamped now (or at <paramref name="at"/>).</summary>
    internal static byte[] Event(string conversation, string message, DateTimeOffset? at = null) => Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
    {
        event_type = "message_created",
        conversation_id = conversation,
        timestamp = (at ?? DateTimeOffset.UtcNow).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture),
        payload = new { id = message, content = "text of " + message, created_at = "2026-11-25T10:00:00Z", author = new { name = "Ana", type = "contact" } },
    }));

    private void OcpAnswers(int status) => OcpAnswers(_host, status);

    /// <summary>What OCP® answers from now on; its log of what it received is cleared too unless <paramref name="keepLog"/>.</summary>
    internal static void OcpAnswers(GatewayHost host, int status, bool keepLog = false)
    {
        if (keepLog)
        {
            host.Ocp.ResetMappings();
        }
        else
        {
            host.Ocp.Reset();
        }

        host.Ocp.Given(Request.Create().UsingPost()).RespondWith(Response.Create().WithStatusCode(status));
    }

    /// <summary>The admin API's list of events in <paramref name="state"/>, asked with <paramref name="adminKey"/>.</summary>
    internal static async Task<List<JsonElement>> ListAsync(GatewayHost host, string state, string adminKey = AdminKey, int limit = 100)
    {
        var admin = host.CreateAnonymousClient();
        admin.DefaultRequestHeaders.Add(OcpTalkdesk.Gateway.Delivery.DeliveryAdminEndpoints.HeaderName, adminKey);
        using var document = JsonDocument.Parse(await admin.GetStringAsync($"/admin/deliveries?state={state}&limit={limit}"));
        return [.. document.RootElement.EnumerateArray().Select(e => e.Clone())];
    }

    /// <summary>What <c>/metrics</c> would show of <paramref name="metrics"/> now.</summary>
    internal static async Task<string> MetricsTextAsync(OcpTalkdesk.Gateway.Metrics.GatewayMetrics metrics)
    {
        using var stream = new MemoryStream();
        await metrics.Registry.CollectAndExportAsTextAsync(stream);
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>The value of one series in a <c>/metrics</c> text, or NaN when it is not there.</summary>
    internal static double Metric(string text, string series) =>
        text.Split('\n').Where(l => l.StartsWith(series + " ", StringComparison.Ordinal))
            .Select(l => double.Parse(l[(series.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture)).DefaultIfEmpty(double.NaN).First();

    /// <summary>The environment a <c>deliveries</c> command needs to open the SQLite store in <paramref name="folder"/>: the gateway's own settings.</summary>
    internal static Dictionary<string, string> CommandEnvironment(string folder) => new()
    {
        ["Gateway__Delivery__Mode"] = "StoreAndForward",
        ["ConnectionStrings__Delivery"] = $"Data Source={Path.Combine(folder, "deliveries.db")}",
        ["Gateway__Delivery__EncryptionKeys__" + GatewayHost.EncryptionKeyId] = GatewayHost.EncryptionKey,
        ["Gateway__Delivery__ActiveEncryptionKey"] = GatewayHost.EncryptionKeyId,
    };

    internal static List<string> Delivered(GatewayHost host) => host.Ocp.LogEntries
        .Where(e => e.ResponseMessage.StatusCode is 200)
        .Select(e => JsonDocument.Parse(e.RequestMessage.Body!).RootElement.GetProperty("payload").GetProperty("id").GetString()!)
        .ToList();

    [Fact]
    public async Task With_ocp_down_the_event_is_queued_with_202_and_delivered_byte_for_byte_when_it_recovers()
    {
        OcpAnswers(503);
        var body = Event("conv-1", "m-1");

        var response = await _host.CreateClient().PostAsync(GatewayHost.EventsPath, Samples.Json(body));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("queued", answer.RootElement.GetProperty("status").GetString());
        Assert.False(string.IsNullOrEmpty(answer.RootElement.GetProperty("id").GetString()));

        OcpAnswers(200);
        Assert.True(await Eventually.HoldsAsync(() => Delivered(_host).Count == 1), "not redelivered");
        var delivered = Assert.Single(_host.Ocp.LogEntries);
        Assert.Equal(body, delivered.RequestMessage.BodyAsBytes);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(body)), delivered.RequestMessage.Headers!["Idempotency-Key"].Single());
        Assert.StartsWith("Bearer ", delivered.RequestMessage.Headers!["Authorization"].Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_conversation_with_a_waiting_event_queues_its_later_events_in_order_and_others_go_through()
    {
        _host.Ocp.Given(Request.Create().UsingPost().WithBody((string? body) => body?.Contains("\"a-1\"", StringComparison.Ordinal) == true))
            .AtPriority(1).RespondWith(Response.Create().WithStatusCode(503));
        _host.Ocp.Given(Request.Create().UsingPost()).AtPriority(5).RespondWith(Response.Create().WithStatusCode(200));
        var client = _host.CreateClient();

        var a1 = await client.PostAsync(GatewayHost.EventsPath, Samples.Json(Event("A", "a-1")));
        var a2 = await client.PostAsync(GatewayHost.EventsPath, Samples.Json(Event("A", "a-2")));
        var b1 = await client.PostAsync(GatewayHost.EventsPath, Samples.Json(Event("B", "b-1")));
        var a3 = await client.PostAsync(GatewayHost.EventsPath, Samples.Json(Event("A", "a-3")));

        Assert.Equal([HttpStatusCode.Accepted, HttpStatusCode.Accepted, HttpStatusCode.OK, HttpStatusCode.Accepted],
            new[] { a1.StatusCode, a2.StatusCode, b1.StatusCode, a3.StatusCode });
        // a-2 and a-3 were held back, not sent ahead of a-1.
        Assert.DoesNotContain(_host.Ocp.LogEntries, e => e.RequestMessage.Body!.Contains("\"a-2\"", StringComparison.Ordinal));

        OcpAnswers(200);
        Assert.True(await Eventually.HoldsAsync(() => Delivered(_host).Count(id => id.StartsWith("a-", StringComparison.Ordinal)) == 3));
        Assert.Equal(["a-1", "a-2", "a-3"], Delivered(_host).Where(id => id.StartsWith("a-", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Past_the_waiting_bound_an_event_ocp_refused_gets_503_with_retry_after_at_once_and_the_waiting_one_its_late_202()
    {
        var settings = Settings(_folder);
        settings["Gateway:Delivery:MaxWaitingParks"] = "1";
        // The kept event stays pending until the test has looked (with the default 0.1 s retry the worker may hold its
        // lease just then).
        settings["Gateway:Delivery:RetrySchedule:0"] = "00:10:00";
        using var host = GatewayHost.Create(settings);
        OcpAnswers(host, 503);
        var client = host.CreateClient();
        HttpResponseMessage busy;
        Task<HttpResponseMessage> waiting;
        // Another writer (not pooled, so its open transaction ends with it) holds the SQLite file: the first park waits
        // for its commit, the second finds the bound taken.
        await using (var writer = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_folder, "deliveries.db")};Pooling=False"))
        {
            await writer.OpenAsync();
            await using (var begin = writer.CreateCommand())
            {
                begin.CommandText = "BEGIN IMMEDIATE";
                await begin.ExecuteNonQueryAsync();
            }

            var parks = host.Services.GetRequiredService<OcpTalkdesk.Gateway.Delivery.GroupCommit>();
            waiting = client.PostAsync(GatewayHost.EventsPath, Samples.Json(Event("busy-1", "w-1")));
            Assert.True(await Eventually.HoldsAsync(() => parks.WaitingParks == 1), "the first event never waited for the store");
            busy = await client.PostAsync(GatewayHost.EventsPath, Samples.Json(Event("busy-2", "r-1")));
            Assert.False(waiting.IsCompleted);
        }

        Assert.Equal(HttpStatusCode.ServiceUnavailable, busy.StatusCode);
        Assert.Equal("1", busy.Headers.RetryAfter?.Delta?.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("application/problem+json", busy.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await busy.Content.ReadAsStringAsync());
        Assert.Equal("urn:ocp-gateway:problem:delivery-store-busy", problem.RootElement.GetProperty("type").GetString());
        var late = await waiting;
        Assert.Equal(HttpStatusCode.Accepted, late.StatusCode);
        var ready = await host.CreateAnonymousClient().GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Contains("Parking cannot keep up", await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var metrics = await host.CreateAnonymousClient().GetStringAsync("/metrics");
        Assert.Equal(1, Metric(metrics, "ocp_gateway_delivery_park_refused_total"));
        Assert.Equal(1, Metric(metrics, "ocp_gateway_requests_total{route=\"talkdesk-events\",event_type=\"message_created\",outcome=\"store_busy\",status_code=\"503\"}"));
        // Only the waiting event was kept; the refused one was not.
        Assert.Single(await ListAsync(host, "pending"));
    }

    [Fact]
    public async Task A_resend_by_talkdesk_is_answered_as_before_and_not_delivered_again()
    {
        OcpAnswers(200);
        var client = _host.CreateClient();
        var body = Event("conv-2", "m-2");

        var first = await client.PostAsync(GatewayHost.EventsPath, Samples.Json(body));
        var again = await client.PostAsync(GatewayHost.EventsPath, Samples.Json(body));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Contains("\"status\":\"delivered\"", await again.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Single(_host.Ocp.LogEntries);
    }

    [Theory]
    [InlineData(0)] // a live event: the restarted gateway answers from the keys it loaded into memory
    [InlineData(90)] // stamped an hour and a half ago: the key table answers
    public async Task A_resend_after_a_restart_is_answered_as_before_and_not_delivered_again(int minutesOld)
    {
        OcpAnswers(200);
        var body = Event("conv-r", "m-r", DateTimeOffset.UtcNow.AddMinutes(-minutesOld));
        var first = await _host.CreateClient().PostAsync(GatewayHost.EventsPath, Samples.Json(body));
        _host.Dispose(); // the key is written on the way down at the latest

        using var restarted = GatewayHost.Create(Settings(_folder));
        OcpAnswers(restarted, 200);
        var again = await restarted.CreateClient().PostAsync(GatewayHost.EventsPath, Samples.Json(body));
        var fresh = await restarted.CreateClient().PostAsync(GatewayHost.EventsPath, Samples.Json(Event("conv-r", "m-r2")));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Contains("\"status\":\"delivered\"", await again.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, fresh.StatusCode);
        Assert.Equal(["m-r2"], Delivered(restarted));
    }

    [Fact]
    public async Task A_resend_of_a_queued_event_gets_the_same_202_and_id()
    {
        OcpAnswers(503);
        var client = _host.CreateClient();
        var body = Event("conv-3", "m-3");

        var first = await client.PostAsync(GatewayHost.EventsPath, Samples.Json(body));
        var again = await client.PostAsync(GatewayHost.EventsPath, Samples.Json(body));

        Assert.Equal(HttpStatusCode.Accepted, again.StatusCode);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await again.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task An_ocp_that_answers_too_slowly_gets_the_event_queued_within_the_attempt_budget()
    {
        // OCP® would answer 200 after 8 s; the 4 s attempt budget must cut in before (the margin is for a busy CI
        // machine: the parking commit syncs to disk).
        _host.Ocp.Given(Request.Create().UsingPost()).RespondWith(Response.Create().WithStatusCode(200).WithDelay(TimeSpan.FromSeconds(8)));
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var response = await _host.CreateClient().PostAsync(GatewayHost.EventsPath, Samples.Json(Event("conv-4", "m-4")));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(7), $"answered after {clock.Elapsed}");
    }

    [Fact]
    public async Task OCP_s_final_4xx_goes_back_to_talkdesk_and_nothing_is_kept()
    {
        OcpAnswers(422);

        var response = await _host.CreateClient().PostAsync(GatewayHost.EventsPath, Samples.Json(Event("conv-5", "m-5")));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var ready = await _host.CreateClient().GetAsync("/readyz");
        using var report = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
        var store = report.RootElement.GetProperty("checks").GetProperty("delivery-store");
        Assert.Equal("Healthy", store.GetProperty("status").GetString());
        Assert.Equal("0", store.GetProperty("pending").GetString());
        Assert.Single(_host.Ocp.LogEntries);
    }

    [Fact]
    public async Task Without_a_token_for_ocp_the_event_is_queued_and_delivered_once_tokens_are_issued_again()
    {
        var folder = Directory.CreateTempSubdirectory("gateway-sf-token-").FullName;
        try
        {
            using var host = GatewayHost.Create(Settings(folder));
            host.TokenEndpoint.Reset();
            host.TokenEndpoint.Given(Request.Create().UsingPost()).RespondWith(Response.Create().WithStatusCode(503));
            OcpAnswers(host, 200);

            var response = await host.CreateClient().PostAsync(GatewayHost.EventsPath, Samples.Json(Event("T", "t-1")));

            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            Assert.Empty(host.Ocp.LogEntries);
            // Still taking events, so still ready: degraded, not out of the load balancer.
            var ready = await host.CreateClient().GetAsync("/readyz");
            using (var report = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()))
            {
                Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
                Assert.Equal("Degraded", report.RootElement.GetProperty("checks").GetProperty("tokens").GetProperty("status").GetString());
            }

            host.IssueTokens("token-back-2");
            Assert.True(await Eventually.HoldsAsync(() => Delivered(host).Count == 1), "not delivered once tokens came back");
            Assert.Equal("Bearer token-back-2", host.Ocp.LogEntries.Single().RequestMessage.Headers!["Authorization"].Single());
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task OCP_s_retry_after_sets_the_next_attempt()
    {
        _host.Ocp.Given(Request.Create().UsingPost()).RespondWith(Response.Create().WithStatusCode(429).WithHeader("Retry-After", "120"));

        var response = await _host.CreateClient().PostAsync(GatewayHost.EventsPath, Samples.Json(Event("RA", "ra-1")));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var admin = _host.CreateAnonymousClient();
        admin.DefaultRequestHeaders.Add(OcpTalkdesk.Gateway.Delivery.DeliveryAdminEndpoints.HeaderName, AdminKey);
        using var pending = JsonDocument.Parse(await admin.GetStringAsync("/admin/deliveries?state=pending"));
        var parked = Assert.Single(pending.RootElement.EnumerateArray());
        var wait = parked.GetProperty("nextAttemptAt").GetDateTimeOffset() - parked.GetProperty("receivedAt").GetDateTimeOffset();
        Assert.True(wait >= TimeSpan.FromSeconds(119), $"next attempt after {wait}");
        Assert.Equal("OCP® answered 429", parked.GetProperty("lastError").GetString());
    }
}

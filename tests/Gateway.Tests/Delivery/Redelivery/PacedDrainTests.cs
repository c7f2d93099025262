using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using OcpTalkdesk.Gateway.Tests.Integration;

namespace OcpTalkdesk.Gateway.Tests.Delivery;

/// <summary>
/// The drain after an outage into an OCP® that takes only <see cref="CapacityOcp.Capacity"/> requests at once and answers
/// 429 with <c>Retry-After</c> above that (an in-process stand-in: WireMock.Net cannot count requests in flight).
/// </summary>
public sealed class PacedDrainTests : IAsyncDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("gateway-drain-").FullName;
    private readonly CapacityOcp _ocp = new();

    public async ValueTask DisposeAsync()
    {
        await _ocp.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task The_drain_settles_below_what_ocp_takes_with_few_429s_in_order_and_live_events_still_go_straight_through()
    {
        await _ocp.StartAsync();
        var settings = StoreAndForwardTests.Settings(_folder);
        settings["Gateway:Delivery:Breaker:BreakDuration"] = "00:00:00.500";
        using var host = GatewayHost.Create(settings, _ocp.Address);
        var client = host.CreateClient();
        const int Conversations = 40, PerConversation = 5;
        for (var n = 1; n <= PerConversation; n++)
        {
            for (var c = 0; c < Conversations; c++)
            {
                var parked = await client.PostAsync(GatewayHost.EventsPath, Samples.Json(StoreAndForwardTests.Event("D" + c, $"D{c}.{n}")));
                Assert.Equal(HttpStatusCode.Accepted, parked.StatusCode);
            }
        }

        _ocp.Open();
        Assert.True(await Eventually.HoldsAsync(() => _ocp.Delivered.Count >= Conversations * PerConversation / 4, TimeSpan.FromSeconds(30)), "the drain did not start");
        // Live events on new conversations while the backlog drains, spread over it as Talkdesk's would be: the next one
        // after the drain has delivered a few more.
        var live = new List<HttpStatusCode>();
        for (var i = 0; i < 10; i++)
        {
            live.Add((await client.PostAsync(GatewayHost.EventsPath, Samples.Json(StoreAndForwardTests.Event("L" + i, $"L{i}.1")))).StatusCode);
            var before = _ocp.Delivered.Count;
            await Eventually.HoldsAsync(() => _ocp.Delivered.Count >= before + CapacityOcp.Capacity, TimeSpan.FromSeconds(5));
        }

        Assert.True(await Eventually.HoldsAsync(() => _ocp.Delivered.Count == (Conversations * PerConversation) + 10, TimeSpan.FromSeconds(60)),
            $"{_ocp.Delivered.Count} of {(Conversations * PerConversation) + 10} delivered");
        var metrics = await host.CreateAnonymousClient().GetStringAsync("/metrics");

        var delivered = await StoreAndForwardTests.ListAsync(host, "delivered", limit: 1000);
        var liveParked = delivered.Where(e => e.GetProperty("conversationId").GetString()!.StartsWith('L')).ToList();

        Assert.Empty(_ocp.Repeats);
        Assert.Empty(_ocp.OutOfOrder);
        Assert.True(_ocp.Refused <= _ocp.Attempts / 10, $"{_ocp.Refused} of {_ocp.Attempts} attempts answered 429");
        // Not starved: most go straight to OCP® during the drain (the few that meet a full OCP® are parked).
        Assert.True(live.Count(s => s == HttpStatusCode.OK) >= 7, "live answers: " + string.Join(", ", live));
        Assert.Equal(live.Count(s => s == HttpStatusCode.Accepted), liveParked.Count);
        // A live event OCP® pushed back was never counted as a failed attempt: its one attempt is the delivery.
        Assert.All(liveParked, e => Assert.Equal(1, e.GetProperty("attempts").GetInt32()));
        // A pushback is counted as one, not as a failed attempt: every 429 the worker met is on the metric.
        Assert.Equal(_ocp.Refused,
            StoreAndForwardTests.Metric(metrics, "ocp_gateway_delivery_pushbacks_total{cluster=\"ocp\",source=\"redelivery\"}")
            + StoreAndForwardTests.Metric(metrics, "ocp_gateway_delivery_pushbacks_total{cluster=\"ocp\",source=\"live\"}"));
        Assert.True(StoreAndForwardTests.Metric(metrics, "ocp_gateway_delivery_redelivery_concurrency{cluster=\"ocp\"}") <= CapacityOcp.Capacity + 1);
    }

    /// <summary>
    /// OCP® as a capacity-limited service: 503 until <see cref="Open"/>, then at most <see cref="Capacity"/> requests in
    /// flight (each takes a few milliseconds of work), 429 with <c>Retry-After: 1</c> above that. Records what it took.
    /// </summary>
    private sealed class CapacityOcp : IAsyncDisposable
    {
        public const int Capacity = 4;
        private readonly ConcurrentDictionary<string, int> _last = new(StringComparer.Ordinal);
        private WebApplication? _app;
        private int _open;
        private int _inFlight;
        private int _attempts;
        private int _refused;

        public string Address { get; private set; } = string.Empty;

        public ConcurrentQueue<string> Delivered { get; } = new();

        public ConcurrentQueue<string> Repeats { get; } = new();

        public ConcurrentQueue<string> OutOfOrder { get; } = new();

        public int Attempts => Volatile.Read(ref _attempts);

        public int Refused => Volatile.Read(ref _refused);

        public void Open() => Volatile.Write(ref _open, 1);

        public async Task StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            _app = builder.Build();
            _app.MapPost("/ocp/{**rest}", (Delegate)ReceiveAsync);
            await _app.StartAsync();
            Address = _app.Urls.First() + "/ocp";
        }

        private async Task<IResult> ReceiveAsync(HttpContext context)
        {
            using var document = await JsonDocument.ParseAsync(context.Request.Body);
            if (Volatile.Read(ref _open) == 0)
            {
                return Results.StatusCode(503);
            }

            Interlocked.Increment(ref _attempts);
            try
            {
                if (Interlocked.Increment(ref _inFlight) > Capacity)
                {
                    Interlocked.Increment(ref _refused);
                    context.Response.Headers.RetryAfter = "1";
                    return Results.StatusCode(429);
                }

                // OCP®'s own work on the event: what makes requests overlap.
                await Task.Delay(15);
            }
            finally
            {
                Interlocked.Decrement(ref _inFlight);
            }

            var id = document.RootElement.GetProperty("payload").GetProperty("id").GetString()!;
            var conversation = document.RootElement.GetProperty("conversation_id").GetString()!;
            var n = int.Parse(id.AsSpan(id.IndexOf('.', StringComparison.Ordinal) + 1), System.Globalization.CultureInfo.InvariantCulture);
            if (Delivered.Contains(id))
            {
                Repeats.Enqueue(id);
            }

            Delivered.Enqueue(id);
            if (_last.AddOrUpdate(conversation, n, (_, last) => n == last + 1 ? n : -1) != n)
            {
                OutOfOrder.Enqueue(id);
            }

            return Results.Json(new { accepted = true });
        }

        public async ValueTask DisposeAsync()
        {
            if (_app is not null)
            {
                await _app.DisposeAsync();
            }
        }
    }
}

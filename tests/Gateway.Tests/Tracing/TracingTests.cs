using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OcpTalkdesk.Gateway.Tests.Delivery;
using OcpTalkdesk.Gateway.Tests.Integration;
using OcpTalkdesk.Gateway.Tracing;
using OpenTelemetry.Trace;

namespace OcpTalkdesk.Gateway.Tests.Tracing;

/// <summary>
/// OpenTelemetry tracing with the in-memory exporter. Every request here carries its own
/// <c>traceparent</c>, so the spans of other tests running at the same time (listeners are process-wide)
/// are told apart by trace id.
/// </summary>
public sealed class TracingTests
{
    private static readonly Dictionary<string, string?> TracingOn = new() { ["Gateway:Tracing:Enabled"] = "true" };

    /// <summary>Whether <paramref name="span"/> is a child, grandchild, … of <paramref name="ancestor"/> (YARP's forwarder span sits between).</summary>
    private static bool Descends(Activity span, Activity ancestor, List<Activity> trace)
    {
        for (var parent = span.ParentSpanId; parent != default;)
        {
            if (parent == ancestor.SpanId)
            {
                return true;
            }

            parent = trace.FirstOrDefault(a => a.SpanId == parent)?.ParentSpanId ?? default;
        }

        return false;
    }

    private static (string TraceParent, ActivityTraceId TraceId) NewTrace()
    {
        var traceId = ActivityTraceId.CreateRandom();
        return ($"00-{traceId}-{ActivitySpanId.CreateRandom()}-01", traceId);
    }

    private static Action<IServiceCollection> Export(Exported exported) =>
        services => services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(exported));

    private static async Task<HttpResponseMessage> SendAsync(GatewayHost host, byte[] body, string traceParent)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, GatewayHost.EventsPath) { Content = Samples.Json(body) };
        request.Headers.Add("traceparent", traceParent);
        return await host.CreateClient().SendAsync(request);
    }

    [Fact]
    public async Task A_forwarded_event_is_one_trace_from_request_to_ocp_with_the_attributes_an_operator_searches_by()
    {
        var exported = new Exported();
        using var host = GatewayHost.Create(TracingOn, services: Export(exported));
        StoreAndForwardTests.OcpAnswers(host, 200);
        var (traceParent, traceId) = NewTrace();

        var response = await SendAsync(host, Samples.Bytes("message_created"), traceParent);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(await Eventually.HoldsAsync(() => exported.Any(a => a.TraceId == traceId && a.Kind == ActivityKind.Server)), "no request span");
        var trace = exported.Where(a => a.TraceId == traceId).ToList();
        // WireMock.Net (OCP® here) is ASP.NET Core in this process too: its server span joins the trace.
        var server = trace.Single(a => a.Kind == ActivityKind.Server && a.GetTagItem(GatewayTracing.Route) is not null);
        Assert.Equal("talkdesk-events", server.GetTagItem(GatewayTracing.Route));
        Assert.Equal("message_created", server.GetTagItem(GatewayTracing.EventType));
        Assert.Equal("forwarded", server.GetTagItem(GatewayTracing.Outcome));
        var conversation = JsonDocument.Parse(Samples.Bytes("message_created")).RootElement.GetProperty("conversation_id").GetString();
        Assert.Equal(conversation, server.GetTagItem(GatewayTracing.ConversationId));
        var validate = trace.Single(a => a.OperationName == "ocp.validate");
        Assert.True(Descends(validate, server, trace), "ocp.validate is not inside the request span");
        Assert.Equal("valid", validate.GetTagItem(GatewayTracing.Outcome));
        var upstream = trace.Single(a => a.Kind == ActivityKind.Client);
        Assert.Contains(GatewayHost.OcpPath, upstream.GetTagItem("url.full")?.ToString(), StringComparison.Ordinal);
        // W3C trace context goes on to OCP®, in this trace.
        var sent = Assert.Single(host.Ocp.LogEntries).RequestMessage.Headers!["traceparent"].Single();
        Assert.Contains(traceId.ToString(), sent, StringComparison.Ordinal);
        AssertNoSecretsOrContent(exported);
    }

    [Fact]
    public async Task A_rejected_event_s_problem_trace_id_is_the_trace_s_id()
    {
        var exported = new Exported();
        using var host = GatewayHost.Create(TracingOn, services: Export(exported));
        var (traceParent, traceId) = NewTrace();

        var response = await SendAsync(host, """{"event_type":"message_created"}"""u8.ToArray(), traceParent);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains(traceId.ToString(), problem.RootElement.GetProperty("traceId").GetString(), StringComparison.Ordinal);
        Assert.True(await Eventually.HoldsAsync(() => exported.Any(a => a.TraceId == traceId && a.Kind == ActivityKind.Server)), "no request span");
        Assert.Equal("rejected", exported.Single(a => a.TraceId == traceId && a.OperationName == "ocp.validate").GetTagItem(GatewayTracing.Outcome));
        Assert.Empty(host.Ocp.LogEntries);
    }

    [Fact]
    public async Task A_parked_event_s_later_delivery_is_a_span_linked_to_the_request_s_trace()
    {
        var folder = Directory.CreateTempSubdirectory("gateway-trace-").FullName;
        try
        {
            var exported = new Exported();
            var settings = StoreAndForwardTests.Settings(folder);
            settings["Gateway:Tracing:Enabled"] = "true";
            using var host = GatewayHost.Create(settings, services: Export(exported));
            StoreAndForwardTests.OcpAnswers(host, 503);
            var (traceParent, traceId) = NewTrace();

            var response = await SendAsync(host, StoreAndForwardTests.Event("traced-1", "m-1"), traceParent);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            StoreAndForwardTests.OcpAnswers(host, 200);

            Assert.True(await Eventually.HoldsAsync(() => exported.Any(a => a.OperationName == "ocp.deliver"
                && a.Links.Any(l => l.Context.TraceId == traceId) && "delivered".Equals(a.GetTagItem(GatewayTracing.Outcome)))), "no linked delivery span");
            var delivery = exported.First(a => a.OperationName == "ocp.deliver" && a.Links.Any(l => l.Context.TraceId == traceId) && "delivered".Equals(a.GetTagItem(GatewayTracing.Outcome)));
            Assert.NotEqual(traceId, delivery.TraceId);
            Assert.Equal("traced-1", delivery.GetTagItem(GatewayTracing.ConversationId));
            Assert.Equal(200, delivery.GetTagItem(GatewayTracing.Status));
            Assert.True((int)delivery.GetTagItem(GatewayTracing.Attempt)! >= 2);
            Assert.Equal("queued", exported.Single(a => a.TraceId == traceId && a.Kind == ActivityKind.Server && a.GetTagItem(GatewayTracing.Route) is not null).GetTagItem(GatewayTracing.Outcome));
            AssertNoSecretsOrContent(exported);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    private static void AssertNoSecretsOrContent(IEnumerable<Activity> activities)
    {
        foreach (var activity in activities)
        {
            foreach (var (key, value) in activity.EnumerateTagObjects())
            {
                var text = value?.ToString() ?? string.Empty;
                Assert.DoesNotContain(GatewayHost.ClientSecret, text, StringComparison.Ordinal);
                Assert.DoesNotContain(GatewayHost.ApiKey, text, StringComparison.Ordinal);
                Assert.DoesNotContain(GatewayHost.FirstToken, text, StringComparison.Ordinal);
                Assert.DoesNotContain("text of", text, StringComparison.Ordinal);
                Assert.False(key.Contains("body", StringComparison.OrdinalIgnoreCase) && text.Length > 0, $"{activity.OperationName} has {key}");
            }
        }
    }

    /// <summary>What the in-memory exporter adds to (from the threads that end spans), readable while it does.</summary>
    private sealed class Exported : ICollection<Activity>
    {
        private readonly List<Activity> _items = [];

        public int Count
        {
            get
            {
                lock (_items)
                {
                    return _items.Count;
                }
            }
        }

        public bool IsReadOnly => false;

        public void Add(Activity item)
        {
            lock (_items)
            {
                _items.Add(item);
            }
        }

        public void Clear()
        {
            lock (_items)
            {
                _items.Clear();
            }
        }

        public bool Contains(Activity item) => Snapshot().Contains(item);

        public void CopyTo(Activity[] array, int arrayIndex) => Snapshot().CopyTo(array, arrayIndex);

        public bool Remove(Activity item)
        {
            lock (_items)
            {
                return _items.Remove(item);
            }
        }

        public IEnumerator<Activity> GetEnumerator() => Snapshot().GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

        private List<Activity> Snapshot()
        {
            lock (_items)
            {
                return [.. _items];
            }
        }
    }
}

using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using OcpTalkdesk.Gateway.Metrics;
using OcpTalkdesk.Gateway.Outcomes;
using OcpTalkdesk.Gateway.Problems;
using OcpTalkdesk.Gateway.Tests.Problems;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace OcpTalkdesk.Gateway.Tests.Outcomes;

/// <summary>The step that owns a proxied call's outcome, alone on a <see cref="DefaultHttpContext"/>.</summary>
public sealed class OutcomeMiddlewareTests
{
    private const string Route = "talkdesk-events";

    private sealed class ErrorFeature(ForwarderError error, Exception? exception) : IForwarderErrorFeature
    {
        public ForwarderError Error { get; } = error;

        public Exception? Exception { get; } = exception;
    }

    private sealed class ExpiredTimeout : IHttpRequestTimeoutFeature
    {
        public CancellationToken RequestTimeoutToken { get; } = new(canceled: true);

        public void DisableTimeout()
        {
        }
    }

    private readonly GatewayMetrics _metrics = new();

    private (DefaultHttpContext Context, OutcomeMiddleware Step) Create(RequestDelegate next, bool proxied = true)
    {
        var services = ProblemServices.Create();
        var context = new DefaultHttpContext { RequestServices = services };
        context.Response.Body = new MemoryStream();
        context.SetEndpoint(proxied
            ? new Endpoint(null, new EndpointMetadataCollection(new RouteModel(new RouteConfig { RouteId = Route }, null, HttpTransformer.Empty)), Route)
            : new Endpoint(null, EndpointMetadataCollection.Empty, "health"));
        return (context, new OutcomeMiddleware(next, _metrics, services.GetRequiredService<ProblemResponder>(), NullLogger<OutcomeMiddleware>.Instance));
    }

    private static string TypeOf(HttpContext context)
    {
        context.Response.Body.Position = 0;
        using var problem = JsonDocument.Parse(context.Response.Body);
        return problem.RootElement.GetProperty("type").GetString()!;
    }

    private async Task<double> CountAsync(string eventType, string outcome, int status)
    {
        using var stream = new MemoryStream();
        await _metrics.Registry.CollectAndExportAsTextAsync(stream);
        var series = $"ocp_gateway_requests_total{{route=\"{Route}\",event_type=\"{eventType}\",outcome=\"{outcome}\",status_code=\"{status}\"}} ";
        var line = Encoding.UTF8.GetString(stream.ToArray()).Split('\n').FirstOrDefault(l => l.StartsWith(series, StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line[series.Length..], System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task A_refused_connection_gets_502_problem_json_and_counts_as_upstream_error()
    {
        var (context, step) = Create(c =>
        {
            c.Response.StatusCode = 502;
            c.Features.Set<IForwarderErrorFeature>(new ErrorFeature(ForwarderError.Request, new HttpRequestException("Connection refused")));
            return Task.CompletedTask;
        });

        await step.InvokeAsync(context);

        Assert.Equal(502, context.Response.StatusCode);
        Assert.Equal(ProblemTypes.UpstreamUnavailable, TypeOf(context));
        Assert.Equal(1, await CountAsync("unknown", "upstream_error", 502));
    }

    [Fact]
    public async Task An_upstream_answer_without_a_forwarder_error_is_left_as_it_is_and_counts_as_forwarded()
    {
        var (context, step) = Create(c =>
        {
            c.Features.Get<CallOutcome>()!.EventType = "message_created";
            c.Response.StatusCode = 503;
            return Task.CompletedTask;
        });

        await step.InvokeAsync(context);

        Assert.Equal(503, context.Response.StatusCode);
        Assert.Equal(0, context.Response.Body.Length);
        Assert.Equal(1, await CountAsync("message_created", "forwarded", 503));
    }

    [Fact]
    public async Task An_expired_execution_timeout_gets_504_even_when_yarp_reported_400()
    {
        var (context, step) = Create(c =>
        {
            c.Response.StatusCode = 400;
            return Task.CompletedTask;
        });
        context.Features.Set<IHttpRequestTimeoutFeature>(new ExpiredTimeout());

        await step.InvokeAsync(context);

        Assert.Equal(504, context.Response.StatusCode);
        Assert.Equal(ProblemTypes.UpstreamTimeout, TypeOf(context));
        Assert.Equal(1, await CountAsync("unknown", "timeout", 504));
    }

    [Fact]
    public async Task A_body_read_cancelled_by_the_timeout_gets_504_not_an_exception()
    {
        var (context, step) = Create(_ => throw new OperationCanceledException());
        context.Features.Set<IHttpRequestTimeoutFeature>(new ExpiredTimeout());

        await step.InvokeAsync(context);

        Assert.Equal(504, context.Response.StatusCode);
        Assert.Equal(ProblemTypes.UpstreamTimeout, TypeOf(context));
    }

    [Fact]
    public async Task A_cancellation_without_an_expired_timeout_is_not_taken_for_a_timeout()
    {
        var (context, step) = Create(_ => throw new OperationCanceledException());

        await step.InvokeAsync(context);

        Assert.Equal(500, context.Response.StatusCode);
        Assert.Equal(ProblemTypes.GatewayError, TypeOf(context));
        Assert.Equal(1, await CountAsync("unknown", "gateway_error", 500));
        Assert.Equal(0, await CountAsync("unknown", "timeout", 504));
    }

    [Fact]
    public async Task An_exception_no_step_handled_is_answered_500_problem_json_and_counts_as_gateway_error()
    {
        var (context, step) = Create(_ => throw new InvalidOperationException("a bug"));

        await step.InvokeAsync(context);

        Assert.Equal(500, context.Response.StatusCode);
        Assert.Equal(ProblemTypes.GatewayError, TypeOf(context));
        Assert.Equal(1, await CountAsync("unknown", "gateway_error", 500));
        Assert.Equal(0, await CountAsync("unknown", "forwarded", 200));
    }

    [Fact]
    public async Task A_caller_that_hung_up_is_not_answered_and_counted_as_before()
    {
        var (context, step) = Create(c => throw new IOException("the caller reset the connection"));
        using var aborted = new CancellationTokenSource();
        aborted.Cancel();
        context.RequestAborted = aborted.Token;

        await step.InvokeAsync(context);

        Assert.Equal(499, context.Response.StatusCode);
        Assert.Equal(0, context.Response.Body.Length);
        Assert.Equal(1, await CountAsync("unknown", "gateway_error", 500));
    }

    [Fact]
    public async Task An_exception_after_the_answer_started_goes_on_up()
    {
        var (context, step) = Create(c =>
        {
            c.Features.Set<Microsoft.AspNetCore.Http.Features.IHttpResponseFeature>(new StartedResponse());
            throw new InvalidOperationException("a bug mid-answer");
        });

        await Assert.ThrowsAsync<InvalidOperationException>(() => step.InvokeAsync(context));

        Assert.Equal(1, await CountAsync("unknown", "gateway_error", 200));
    }

    [Fact]
    public async Task A_steps_decision_is_the_counted_outcome()
    {
        var (context, step) = Create(async c =>
        {
            var call = c.Features.Get<CallOutcome>()!;
            call.EventType = "conversation_started";
            call.Decide(Outcome.Queued);
            c.Response.StatusCode = 202;
            await c.Response.WriteAsync("{}");
        });

        await step.InvokeAsync(context);

        Assert.Equal(1, await CountAsync("conversation_started", "queued", 202));
    }

    [Fact]
    public async Task Proxied_calls_get_an_outcome_and_other_endpoints_pass_through()
    {
        CallOutcome? seen = null;
        var (proxied, step) = Create(c =>
        {
            seen = c.Features.Get<CallOutcome>();
            return Task.CompletedTask;
        });
        await step.InvokeAsync(proxied);
        Assert.NotNull(seen);

        seen = null;
        var (health, healthStep) = Create(c =>
        {
            seen = c.Features.Get<CallOutcome>();
            return Task.CompletedTask;
        }, proxied: false);
        await healthStep.InvokeAsync(health);
        Assert.Null(seen);
    }

    private sealed class StartedResponse : Microsoft.AspNetCore.Http.Features.HttpResponseFeature
    {
        public override bool HasStarted => true;
    }
}

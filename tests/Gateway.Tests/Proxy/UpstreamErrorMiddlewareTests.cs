using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using OcpTalkdesk.Gateway.Problems;
using OcpTalkdesk.Gateway.Proxy;
using OcpTalkdesk.Gateway.Tests.Problems;
using OcpTalkdesk.Gateway.Timeouts;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace OcpTalkdesk.Gateway.Tests.Proxy;

/// <summary>The steps that answer for a failed or timed-out forward, alone on a <see cref="DefaultHttpContext"/>.</summary>
public sealed class UpstreamErrorMiddlewareTests
{
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

    private static (DefaultHttpContext Context, ProblemResponder Problems) Create()
    {
        var services = ProblemServices.Create();
        var context = new DefaultHttpContext { RequestServices = services };
        context.Response.Body = new MemoryStream();
        context.Features.Set<IReverseProxyFeature>(new ReverseProxyFeature
        {
            Route = new RouteModel(new RouteConfig { RouteId = "talkdesk-events" }, null, HttpTransformer.Empty),
        });
        return (context, services.GetRequiredService<ProblemResponder>());
    }

    private static string TypeOf(HttpContext context)
    {
        context.Response.Body.Position = 0;
        using var problem = JsonDocument.Parse(context.Response.Body);
        return problem.RootElement.GetProperty("type").GetString()!;
    }

    [Fact]
    public async Task A_refused_connection_gets_502_problem_json()
    {
        var (context, problems) = Create();
        var middleware = new UpstreamErrorMiddleware(c =>
        {
            c.Response.StatusCode = 502;
            c.Features.Set<IForwarderErrorFeature>(new ErrorFeature(ForwarderError.Request, new HttpRequestException("Connection refused")));
            return Task.CompletedTask;
        }, problems, NullLogger<UpstreamErrorMiddleware>.Instance);

        await middleware.InvokeAsync(context);

        Assert.Equal(502, context.Response.StatusCode);
        Assert.Equal(ProblemTypes.UpstreamUnavailable, TypeOf(context));
    }

    [Fact]
    public async Task An_upstream_answer_without_a_forwarder_error_is_left_as_it_is()
    {
        var (context, problems) = Create();
        var middleware = new UpstreamErrorMiddleware(c =>
        {
            c.Response.StatusCode = 503;
            return Task.CompletedTask;
        }, problems, NullLogger<UpstreamErrorMiddleware>.Instance);

        await middleware.InvokeAsync(context);

        Assert.Equal(503, context.Response.StatusCode);
        Assert.Equal(0, context.Response.Body.Length);
    }

    [Fact]
    public async Task An_expired_execution_timeout_gets_504_even_when_yarp_reported_400()
    {
        var (context, problems) = Create();
        context.Features.Set<IHttpRequestTimeoutFeature>(new ExpiredTimeout());
        var middleware = new ExecutionTimeoutMiddleware(c =>
        {
            c.Response.StatusCode = 400;
            return Task.CompletedTask;
        }, problems, NullLogger<ExecutionTimeoutMiddleware>.Instance);

        await middleware.InvokeAsync(context);

        Assert.Equal(504, context.Response.StatusCode);
        Assert.Equal(ProblemTypes.UpstreamTimeout, TypeOf(context));
    }
}

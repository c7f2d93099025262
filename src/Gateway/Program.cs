using OcpTalkdesk.Gateway.Configuration;
using OcpTalkdesk.Gateway.Health;
using OcpTalkdesk.Gateway.InboundAuth;
using OcpTalkdesk.Gateway.Metrics;
using OcpTalkdesk.Gateway.Problems;
using OcpTalkdesk.Gateway.Proxy;
using OcpTalkdesk.Gateway.Sandbox;
using OcpTalkdesk.Gateway.Timeouts;
using OcpTalkdesk.Gateway.Tokens;
using OcpTalkdesk.Gateway.Validation;

if (HealthProbe.IsRequested(args))
{
    return await HealthProbe.RunAsync(args);
}

var builder = WebApplication.CreateBuilder(args);

builder.AddGatewayOptions();
builder.AddGatewayProblems();
builder.AddExecutionTimeouts();
builder.AddGatewayMetrics();
builder.AddInboundAuth();
builder.AddEventValidation();
builder.AddGatewayProxy();
builder.AddTokenClients();
builder.AddGatewayHealth();
builder.AddSandbox();

var app = builder.Build();

app.UseGatewayProblems();
app.UseInboundAuth();
app.UseExecutionTimeouts();
app.MapGatewayMetrics();
app.MapGatewayHealth();
app.MapSandbox();
app.MapGatewayProxy();

await app.RunAsync();
return 0;

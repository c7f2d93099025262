using OcpTalkdesk.Gateway.Configuration;
using OcpTalkdesk.Gateway.Problems;
using OcpTalkdesk.Gateway.Proxy;
using OcpTalkdesk.Gateway.Sandbox;
using OcpTalkdesk.Gateway.Tokens;
using OcpTalkdesk.Gateway.Validation;

var builder = WebApplication.CreateBuilder(args);

builder.AddGatewayOptions();
builder.AddGatewayProblems();
builder.AddEventValidation();
builder.AddGatewayProxy();
builder.AddTokenClients();
builder.AddSandbox();

var app = builder.Build();

app.UseGatewayProblems();
app.MapSandbox();
app.MapGatewayProxy();

app.Run();

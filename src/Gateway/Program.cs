using OcpTalkdesk.Gateway.Commands;
using OcpTalkdesk.Gateway.Configuration;
using OcpTalkdesk.Gateway.Delivery;
using OcpTalkdesk.Gateway.Health;
using OcpTalkdesk.Gateway.InboundAuth;
using OcpTalkdesk.Gateway.Metrics;
using OcpTalkdesk.Gateway.OperatorConsole;
using OcpTalkdesk.Gateway.Outcomes;
using OcpTalkdesk.Gateway.Problems;
using OcpTalkdesk.Gateway.Proxy;
using OcpTalkdesk.Gateway.Sandbox;
using OcpTalkdesk.Gateway.Timeouts;
using OcpTalkdesk.Gateway.Tokens;
using OcpTalkdesk.Gateway.Tracing;
using OcpTalkdesk.Gateway.Validation;

var command = GatewayCommand.Parse(args);
switch (command.Kind)
{
    case CommandKind.Help:
        Console.WriteLine(HelpText.Usage);
        return 0;
    case CommandKind.HealthCheck:
        return await HealthProbe.RunAsync(command.HostArgs);
}

return await StartupFailure.GuardAsync(async () =>
{
    var builder = WebApplication.CreateBuilder(command.HostArgs);

    builder.AddGatewayOptions();
    var bindingProblems = builder.CheckBindings(command);
    if (command.Kind == CommandKind.Validate)
    {
        return await ValidateCommand.RunAsync(command, builder.Configuration, Console.OpenStandardInput(), Console.Out, Console.Error);
    }

    if (command.Kind == CommandKind.Deliveries)
    {
        builder.AddDelivery();
        return await DeliveriesCommand.RunAsync(command, builder, Console.Out, Console.Error);
    }

    builder.AddGatewayLogging(command.Verbose);
    builder.AddGatewayProblems();
    builder.AddExecutionTimeouts();
    builder.AddGatewayMetrics();
    builder.AddInboundAuth();
    builder.AddEventValidation();
    builder.AddGatewayProxy();
    builder.AddDelivery();
    builder.AddTokenClients();
    builder.AddGatewayHealth();
    builder.AddGatewayTracing();
    builder.AddSandbox();
    builder.AddOperatorConsole();

    var app = builder.Build();
    if (command.Kind == CommandKind.CheckConfig)
    {
        return await ConfigCheck.RunAsync(app.Services, bindingProblems, Console.Out, Console.Error);
    }

    await app.CheckConfigurationAsync();

    app.UseGatewayProblems();
    app.UseExecutionTimeouts();
    app.UseCallOutcomes();
    app.UseInboundAuth();
    app.UseOperatorConsole();
    app.MapGatewayMetrics();
    app.MapGatewayHealth();
    app.MapDeliveryAdmin();
    app.MapOperatorConsole();
    app.MapSandbox();
    app.MapGatewayProxy();

    await app.RunAsync();
    return 0;
}, command.Verbose, Console.Error);

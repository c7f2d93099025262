// The baseline of bench/load.sh: the same YARP as the gateway, with none of the gateway's steps
// (no schema check, token, timeout, metrics or inbound auth). Routes come from the command line:
//   --ReverseProxy:Routes:all:ClusterId=up --ReverseProxy:Routes:all:Match:Path={**any}
//   --ReverseProxy:Clusters:up:Destinations:d:Address=http://127.0.0.1:18081/ocp
var builder = WebApplication.CreateBuilder(args);
builder.Logging.ClearProviders();
builder.Services.AddReverseProxy().LoadFromConfig(builder.Configuration.GetSection("ReverseProxy"));
var app = builder.Build();
app.MapReverseProxy();
app.Run();

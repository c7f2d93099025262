using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace OcpTalkdesk.Bench.Soak;

/// <summary>The published gateway as a child process, configured for the soak and stopped on dispose.</summary>
internal sealed class GatewayProcess : IDisposable
{
    public const string ApiKey = "soak-inbound-key-000001";

    private readonly Process _process;

    private GatewayProcess(Process process, Uri address)
    {
        _process = process;
        Address = address;
    }

    public Uri Address { get; }

    public int ProcessId => _process.Id;

    /// <summary>The way a crash ends it: SIGKILL, no shutdown.</summary>
    public void KillHard()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    public static GatewayProcess Start(string directory, string upstream, IReadOnlyDictionary<string, string>? extra = null, int? fixedPort = null)
    {
        var port = fixedPort ?? FreePort();
        var start = new ProcessStartInfo("dotnet", "OcpTalkdesk.Gateway.dll") { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        var env = start.Environment;
        env["ASPNETCORE_ENVIRONMENT"] = "Production";
        env["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        env["DOTNET_gcServer"] = "0";
        env["Logging__LogLevel__Default"] = "Error";
        env["Gateway__ExecutionTimeout"] = "00:00:01";
        env["ReverseProxy__Clusters__ocp__Destinations__primary__Address"] = upstream + "/ocp";
        env["Gateway__TokenClients__ocp__TokenEndpoint"] = upstream + "/token";
        env["Gateway__TokenClients__ocp__ClientId"] = "soak";
        env["Gateway__TokenClients__ocp__ClientSecret"] = "soak-secret";
        env["Gateway__TokenClients__ocp__RefreshBeforeExpiry"] = "00:00:20";
        env["Gateway__InboundAuth__talkdesk__ApiKeys__0"] = ApiKey;
        // A key for the stored bodies, made for the soak only (store-and-forward outside Development needs one).
        env["Gateway__Delivery__EncryptionKeys__soak"] = "X68f9Kj15KVXBtT1iqCJlrNueFXg9IjvlYs6tefAgG8=";
        env["Gateway__Delivery__ActiveEncryptionKey"] = "soak";
        // Health on the events port, where WaitUntilReadyAsync asks.
        env["Gateway__ManagementPort"] = "0";
        foreach (var (key, value) in extra ?? new Dictionary<string, string>())
        {
            env[key] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the gateway");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { Console.Error.WriteLine("gateway: " + e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new GatewayProcess(process, new Uri($"http://127.0.0.1:{port}"));
    }

    public async Task WaitUntilReadyAsync()
    {
        using var client = new HttpClient();
        for (var i = 0; i < 100; i++)
        {
            try
            {
                if ((await client.GetAsync(new Uri(Address, "/readyz"))).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(200);
        }

        throw new TimeoutException("the gateway did not become ready");
    }

    /// <summary>The gateway's resident set in MB (Linux).</summary>
    public double ResidentMegabytes()
    {
        foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) / 1024;
            }
        }

        return 0;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        _process.Dispose();
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

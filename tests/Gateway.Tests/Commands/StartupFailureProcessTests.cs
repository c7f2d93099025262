namespace OcpTalkdesk.Gateway.Tests.Commands;

/// <summary>
/// Every operator mistake at start-up, as a real process: exit code 1, the key (or file) named with
/// its environment-variable spelling, and no stack trace.
/// </summary>
public sealed class StartupFailureProcessTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("gateway-startup-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    public static TheoryData<string, string, string> Mistakes => new()
    {
        { "ReverseProxy__Clusters__ocp__Destinations__primary__Address", "", "ReverseProxy__Clusters__ocp__Destinations__primary__Address" },
        { "ReverseProxy__Clusters__ocp__Destinations__primary__Address", "ocp.example.com/no-scheme", "ReverseProxy__Clusters__ocp__Destinations__primary__Address" },
        { "Gateway__TokenClients__ocp__TokenEndpoint", "", "Gateway__TokenClients__ocp__TokenEndpoint" },
        { "Gateway__TokenClients__ocp__ClientAuthentication", "magic", "Gateway__TokenClients__ocp__ClientAuthentication" },
        { "Gateway__InboundAuth__talkdesk__ApiKeys__0", "short", "Gateway__InboundAuth__talkdesk__ApiKeys" },
        { "Gateway__ExecutionTimeout", "00:01:00", "Gateway__ExecutionTimeout" },
        { "Gateway__MaxEventBytes", "12", "Gateway__MaxEventBytes" },
        { "Gateway__Delivery__Breaker__BreakDuration", "00:00:00.100", "Gateway__Delivery__Breaker__BreakDuration" },
        { "Gateway__Delivery__Breaker__FailureRatio", "1.5", "Gateway__Delivery__Breaker__FailureRatio" },
        { "Gateway__Delivery__MaxRedeliveryRate", "0", "Gateway__Delivery__MaxRedeliveryRate" },
        { "Gateway__Delivery__MaxRedeliveryConcurrency", "0", "Gateway__Delivery__MaxRedeliveryConcurrency" },
        { "Gateway__Delivery__AnswerMargin", "-00:00:01", "Gateway__Delivery__AnswerMargin" },
        { "Gateway__Delivery__LookupTimeout", "00:00:00", "Gateway__Delivery__LookupTimeout" },
        { "Gateway__Delivery__ParkTimeout", "-00:00:01", "Gateway__Delivery__ParkTimeout" },
        { "Gateway__EventTypes__message_created__Schema", "/nowhere/missing.schema.json", "Gateway__EventTypes__message_created__Schema" },
        { "ReverseProxy__Routes__talkdesk-events__AuthorizationPolicy", "", "ReverseProxy__Routes__talkdesk-events" },
    };

    [Theory]
    [MemberData(nameof(Mistakes))]
    public async Task A_bad_setting_stops_start_up_with_exit_1_naming_the_key_without_a_stack_trace(string variable, string value, string named)
    {
        var environment = GatewayProcess.Complete();
        environment[variable] = value;

        var result = await GatewayProcess.RunAsync(["--urls", "http://127.0.0.1:0"], environment);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains(named, result.Error, StringComparison.Ordinal);
        AssertNoStackTrace(result);
    }

    [Theory]
    [InlineData("{\"type\": 12}", "not a valid draft-07 schema")]
    [InlineData("[1, 2]", "not a JSON Schema")]
    [InlineData("{\"type\": ", "not valid JSON")]
    [InlineData("{\"properties\": {\"a\": {\"$ref\": \"#/definitions/missing\"}}}", "does not resolve")]
    [InlineData("{\"$ref\": \"https://schemas.example.com/event.json\"}", "never fetched over the network")]
    public async Task A_schema_file_that_cannot_be_used_stops_start_up_naming_the_key_and_file(string schema, string why)
    {
        var file = Path.Combine(_folder, "agent_joined.schema.json");
        await File.WriteAllTextAsync(file, schema);
        var environment = GatewayProcess.Complete();
        environment["Gateway__EventTypes__agent_joined__Schema"] = file;

        var result = await GatewayProcess.RunAsync(["--urls", "http://127.0.0.1:0"], environment);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("Gateway__EventTypes__agent_joined__Schema", result.Error, StringComparison.Ordinal);
        Assert.Contains(file, result.Error, StringComparison.Ordinal);
        Assert.Contains(why, result.Error, StringComparison.Ordinal);
        AssertNoStackTrace(result);
    }

    /// <summary>Store-and-forward on SQLite in this test's folder, with the test's keys removed.</summary>
    private Dictionary<string, string> StoreAndForwardWithoutKeys()
    {
        var environment = GatewayProcess.Complete();
        environment["Gateway__Delivery__Mode"] = "StoreAndForward";
        environment["ConnectionStrings__Delivery"] = "Data Source=" + Path.Combine(_folder, "deliveries.db");
        environment.Remove("Gateway__Delivery__ActiveEncryptionKey");
        environment.Remove("Gateway__Delivery__EncryptionKeys__" + Integration.GatewayHost.EncryptionKeyId);
        return environment;
    }

    [Theory]
    [InlineData("run")]
    [InlineData("check-config")]
    public async Task Store_and_forward_in_production_without_an_active_key_refuses_naming_it_both_ways(string how)
    {
        var result = await GatewayProcess.RunAsync(how == "run" ? ["--urls", "http://127.0.0.1:0"] : ["check-config"], StoreAndForwardWithoutKeys());

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("Gateway:Delivery:ActiveEncryptionKey", result.Error, StringComparison.Ordinal);
        Assert.Contains("Gateway__Delivery__ActiveEncryptionKey", result.Error, StringComparison.Ordinal);
        AssertNoStackTrace(result);
        // Refused before the store was opened: no file of chats was created without a key.
        Assert.False(File.Exists(Path.Combine(_folder, "deliveries.db")));
    }

    [Theory]
    [InlineData("run", "eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eA==")]
    [InlineData("run", "not base64 at all, but long enough to be a key!!")]
    [InlineData("check-config", "dGhpcnR5LXRocmVlLWJ5dGVzLW9mLWtleS1tYXRlcmlhbCE=")]
    public async Task A_key_that_is_not_32_bytes_of_base64_refuses_naming_its_id_and_never_printing_it(string how, string value)
    {
        var environment = StoreAndForwardWithoutKeys();
        environment["Gateway__Delivery__EncryptionKeys__2026-12"] = value;
        environment["Gateway__Delivery__ActiveEncryptionKey"] = "2026-12";

        var result = await GatewayProcess.RunAsync(how == "run" ? ["--urls", "http://127.0.0.1:0"] : ["check-config"], environment);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("EncryptionKeys__2026-12", result.Error, StringComparison.Ordinal);
        Assert.Contains("32", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(value, result.Error + result.Output, StringComparison.Ordinal);
        AssertNoStackTrace(result);
    }

    [Fact]
    public async Task Check_config_names_the_active_key_by_its_fingerprint_never_its_value()
    {
        var environment = StoreAndForwardWithoutKeys();
        environment["Gateway__Delivery__EncryptionKeys__k1"] = Integration.GatewayHost.EncryptionKey;
        environment["Gateway__Delivery__ActiveEncryptionKey"] = "k1";

        var result = await GatewayProcess.RunAsync(["check-config"], environment);

        Assert.True(result.ExitCode == 0, result.Error);
        var fingerprint = Gateway.Delivery.BodyProtector.From(new Gateway.Delivery.DeliveryOptions
        {
            EncryptionKeys = { ["k1"] = Integration.GatewayHost.EncryptionKey },
            ActiveEncryptionKey = "k1",
        }).Fingerprint("k1");
        Assert.Contains($"active k1 ({fingerprint})", result.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(Integration.GatewayHost.EncryptionKey, result.Error + result.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToHexString(Convert.FromBase64String(Integration.GatewayHost.EncryptionKey)), result.Error + result.Output, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_broken_appsettings_file_stops_start_up_naming_the_file_and_the_line()
    {
        await File.WriteAllTextAsync(Path.Combine(_folder, "appsettings.json"), "{\n  \"Gateway\": {\n    \"MaxEventBytes\": 1024,\n");

        var result = await GatewayProcess.RunAsync(["--contentRoot", _folder, "--urls", "http://127.0.0.1:0"], GatewayProcess.Complete());

        Assert.Equal(1, result.ExitCode);
        Assert.Contains(Path.Combine(_folder, "appsettings.json"), result.Error, StringComparison.Ordinal);
        Assert.Contains("LineNumber", result.Error, StringComparison.Ordinal);
        AssertNoStackTrace(result);
    }

    [Theory]
    [InlineData("Postgres", "Host=127.0.0.1;Port=1;Username=gateway;Timeout=3")]
    [InlineData("Sqlite", "Data Source=/proc/no-such-folder/deliveries.db")]
    public async Task A_delivery_store_that_cannot_be_opened_stops_start_up_naming_the_key(string store, string connectionString)
    {
        var environment = GatewayProcess.Complete();
        environment["Gateway__Delivery__Mode"] = "StoreAndForward";
        environment["Gateway__Delivery__Store"] = store;
        environment["ConnectionStrings__Delivery"] = connectionString;

        var result = await GatewayProcess.RunAsync(["--urls", "http://127.0.0.1:0"], environment);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("ConnectionStrings__Delivery", result.Error, StringComparison.Ordinal);
        AssertNoStackTrace(result);
    }

    [Fact]
    public async Task A_port_in_use_stops_start_up_with_exit_1_and_says_so()
    {
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;

        var result = await GatewayProcess.RunAsync(["--urls", $"http://127.0.0.1:{port}"], GatewayProcess.Complete());

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("address already in use", result.Error, StringComparison.OrdinalIgnoreCase);
        AssertNoStackTrace(result);
    }

    [Fact]
    public async Task With_verbose_the_exception_is_printed_too()
    {
        var environment = GatewayProcess.Complete();
        environment["Gateway__MaxEventBytes"] = "12";

        var result = await GatewayProcess.RunAsync(["--verbose", "--urls", "http://127.0.0.1:0"], environment);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("   at ", result.Error, StringComparison.Ordinal);
    }

    private static void AssertNoStackTrace(GatewayProcess.Result result)
    {
        Assert.DoesNotContain("   at ", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", result.Error, StringComparison.Ordinal);
    }
}

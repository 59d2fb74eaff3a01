"""How the accountant reads a credit's state and the matcher's reason (Vietnamese), in exports."""

from __future__ import annotations

STATE_VI = {
    "matched": "Đã khớp",
    "partial": "Khớp một phần",
    "overpaid": "Nộp thừa",
    "duplicate": "Nộp trùng",
    "unmatched": "Chưa khớp",
    "ambiguous": "Nhiều khả năng",
    "resolved": "Kế toán đã xử lý",
    "withdrawn": "Đã rút (nhập nhầm hoặc ngân hàng hoàn)",
    "credit_balance": "Số dư của gia đình",
}
REASON_VI = {
    "reference": "Theo mã thanh toán",
    "group_reference": "Theo mã thanh toán gia đình",
    "references": "Nhiều mã thanh toán, đúng tổng",
    "references_short": "Nhiều mã thanh toán, không đủ tiền",
    "virtual_account": "Theo tài khoản định danh",
    "student_code_amount": "Theo mã học sinh và số tiền",
    "student_code_amount_several": "Mã học sinh khớp nhiều hóa đơn",
    "student_codes_sum": "Theo mã học sinh, đúng tổng",
    "family_sum": "Đúng tổng của gia đình",
    "family_sum_subset": "Đúng tổng một số hóa đơn của gia đình",
    "family_sum_several": "Nhiều nhóm hóa đơn của gia đình cùng tổng",
    "student_codes_sum_subset": "Đúng tổng một số hóa đơn của học sinh",
    "payer_history_family_subset": "Người nộp quen, đúng tổng một số hóa đơn",
    "payer_history": "Theo tài khoản người nộp quen",
    "payer_history_several": "Người nộp quen, nhiều hóa đơn",
    "payer_history_family": "Người nộp quen, đúng tổng gia đình",
    "reference_check_failed": "Mã thanh toán sai ký tự kiểm tra",
    "reference_unknown": "Mã thanh toán không có trong sổ",
    "no_reference": "Không có mã thanh toán",
    "already_paid": "Hóa đơn đã nộp đủ trước đó",
    "invoice_cancelled": "Hóa đơn đã hủy",
    "manual": "Kế toán khớp tay",
    "undo": "Khôi phục sau hoàn tác",
    "reversed_by_accountant": "Kế toán đã hủy khớp",
    "withdrawn": "Tiền mặt nhập nhầm, đã rút",
    "credit_balance": "Giữ làm số dư cho hóa đơn sau",
    "reversed_by_bank": "Ngân hàng đã hoàn (hủy) giao dịch",
}
